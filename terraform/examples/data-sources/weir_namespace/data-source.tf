data "weir_namespace" "team" {
  name = "company.team"
}

output "region" {
  value = data.weir_namespace.team.variables["region"]
}
