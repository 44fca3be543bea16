data "weir_flow" "ingest" {
  namespace = "company.team"
  flow_id   = "ingest"
}

output "ingest_inputs" {
  value = [for i in data.weir_flow.ingest.inputs : i.id]
}
