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

# The endpoint and token may instead come from WEIR_URL and WEIR_TOKEN.
provider "weir" {
  endpoint = "http://weir.weir-system.svc.cluster.local:8080"
  token    = var.weir_token
  timeout  = 60
}
