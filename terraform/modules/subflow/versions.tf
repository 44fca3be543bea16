terraform {
  required_version = ">= 1.11"

  required_providers {
    weir = { source = "weir/weir" }
  }
}
