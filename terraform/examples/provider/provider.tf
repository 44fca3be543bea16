terraform {
  required_providers {
    weir = {
      source = "weir/weir"
    }
  }
}

variable "weir_token" {
  description = "An API token of the Weir server."
  type        = string
  sensitive   = true
}

# The endpoint and token may instead come from WEIR_URL and WEIR_TOKEN; with neither,
# `provider "weir" {}` talks to http://127.0.0.1:8080 without a token.
provider "weir" {
  endpoint = "http://weir.weir-system.svc.cluster.local:8080"
  token    = var.weir_token
  timeout  = 60
}
