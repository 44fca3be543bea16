output "id" {
  description = "`namespace/flow_id` of the pipeline's flow."
  value       = weir_flow.this.id
}

output "namespace" {
  description = "The flow's namespace."
  value       = weir_flow.this.namespace
}

output "flow_id" {
  description = "The flow's id, for a Subflow task or a flow trigger that follows it."
  value       = weir_flow.this.flow_id
}

output "revision" {
  description = "The flow's revision on the server; it grows with every change."
  value       = weir_flow.this.revision
}

output "content" {
  description = "The flow's YAML, as sent to Weir."
  value       = weir_flow.this.content
}
