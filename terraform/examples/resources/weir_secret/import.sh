# A secret is imported by <namespace>/<name>; its value stays on the server.
terraform import weir_secret.db_password company.team/DB_PASSWORD
