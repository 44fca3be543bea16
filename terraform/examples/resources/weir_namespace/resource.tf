resource "weir_namespace" "team" {
  name        = "company.team"
  description = "Flows of the data team"

  # Read by the namespace's flows as {{ namespace.region }}.
  variables = {
    region = "eu-west-1"
    bucket = "s3://company-team-data"
  }

  labels = {
    owner = "data-platform"
  }
}
