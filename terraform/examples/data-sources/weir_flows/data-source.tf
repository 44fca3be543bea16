# Every flow of company.team and the namespaces below it labelled team = finance.
data "weir_flows" "finance" {
  namespace = "company.team"
  labels    = { team = "finance" }
}

output "finance_flows" {
  value = data.weir_flows.finance.ids
}
