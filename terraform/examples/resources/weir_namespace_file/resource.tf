resource "weir_namespace_file" "query" {
  namespace = "company.team"
  path      = "sql/orders.sql"
  content   = "SELECT * FROM orders WHERE day = :day"
}

# Or from a local file: an edit of the file shows in the plan as a new sha256.
# resource "weir_namespace_file" "etl" {
#   namespace = "company.team"
#   path      = "scripts/etl.py"
#   source    = "${path.module}/scripts/etl.py"
# }
