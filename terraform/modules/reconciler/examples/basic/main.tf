# A reconciler inside the cluster: every five minutes, and on each push through the webhook, Weir
# is made equal to the main branch of a desired-state repository (weir.yaml, namespaces/...).
# The reconciler reaches Weir's API at `server` with the token in the secret WEIR_TOKEN of the
# `system` namespace (set it with the namespace module or `PUT /api/v1/namespaces/system/secrets/
# WEIR_TOKEN`). Terraform itself reaches Weir through WEIR_URL / WEIR_TOKEN.

terraform {
  required_providers {
    weir = { source = "weir/weir" }
  }
}

provider "weir" {}

variable "repository" {
  description = "The desired-state repository."
  type        = string
  default     = "https://github.com/acme/weir-gitops.git"
}

variable "server" {
  description = "Weir's API as the workers reach it."
  type        = string
  default     = "http://weir.weir-system.svc.cluster.local:8080"
}

variable "webhook_key" {
  description = "The push hook's key: a long random value, such as `openssl rand -hex 24` prints."
  type        = string
  default     = null
}

module "reconciler" {
  source = "../.."

  repository   = var.repository
  branch       = "main"
  server       = var.server
  token_secret = "WEIR_TOKEN"
  prune        = true
  schedule     = "*/5 * * * *"
  webhook_key  = var.webhook_key
}

output "reconciler" {
  value = module.reconciler.id
}

output "webhook_path" {
  value = module.reconciler.webhook_path
}
