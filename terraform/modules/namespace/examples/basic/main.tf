# A team's namespace with a secret, two KV pairs, an inline script and a folder of SQL files.
# The endpoint comes from WEIR_URL (and a token, if the server wants one, from WEIR_TOKEN).
# Run with: TF_VAR_warehouse_password=... terraform apply

terraform {
  required_providers {
    weir = { source = "weir/weir" }
  }
}

provider "weir" {}

variable "warehouse_password" {
  description = "The warehouse password the team's flows log in with."
  type        = string
  sensitive   = true
  ephemeral   = true # in no state and no saved plan
}

module "analytics" {
  source = "../.."

  name        = "company.analytics"
  description = "The analytics team's flows."
  variables   = { warehouse = "analytics-prod" }
  labels      = { owner = "analytics" }

  secrets      = { WAREHOUSE_PASSWORD = var.warehouse_password }
  secret_names = ["WAREHOUSE_PASSWORD"]

  kv = {
    batch_size  = { value = "500", type = "NUMBER" }
    last_export = { value = "2025-01-31", type = "DATE", ttl = "P30D" }
  }

  files = {
    "scripts/hello.py" = "print('hello from company.analytics')\n"
  }
  files_dir = "${path.module}/files"
}

output "namespace" {
  value = module.analytics.name
}

output "secret_names" {
  value = module.analytics.secret_names
}

output "kv_keys" {
  value = module.analytics.kv_keys
}

output "files" {
  value = module.analytics.files
}
