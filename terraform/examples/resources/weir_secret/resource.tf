variable "db_password" {
  type      = string
  sensitive = true
}

# The value is write-only: Terraform sends it to Weir and never keeps it in the state.
# Bump value_wo_version to write a new value.
resource "weir_secret" "db_password" {
  namespace        = "company.team"
  name             = "DB_PASSWORD"
  value_wo         = var.db_password
  value_wo_version = 1
}
