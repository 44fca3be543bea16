# A reconciler inside the cluster: every five minutes, flows and namespace files of two teams
# follow the main branch of a Git repository. The token is the secret GITHUB_TOKEN of the
# `system` namespace, set with the namespace module or `PUT /api/v1/namespaces/system/secrets/
# GITHUB_TOKEN`. The endpoint comes from WEIR_URL.

terraform {
  required_providers {
    weir = { source = "weir/weir" }
  }
}

provider "weir" {}

variable "repository_url" {
  description = "The desired-state repository."
  type        = string
  default     = "https://github.com/acme/weir-gitops.git"
}

module "reconciler" {
  source = "../.."

  repository_url = var.repository_url
  branch         = "main"
  token_secret   = "GITHUB_TOKEN"
  interval       = "*/5 * * * *"

  namespaces = {
    "company.finance" = {
      flows_directory = "company.finance/flows"
      files_directory = "company.finance/files"
    }
    "company.sales" = {
      flows_directory          = "company.sales/flows"
      include_child_namespaces = true
    }
  }
}

output "reconciler" {
  value = module.reconciler.id
}
