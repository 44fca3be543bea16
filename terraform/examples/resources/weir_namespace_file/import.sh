# A namespace file is imported by <namespace>/<path>.
terraform import weir_namespace_file.query company.team/sql/orders.sql
