output "id" {
  description = "`namespace/flow_id` of the reconciler flow."
  value       = weir_flow.this.id
}

output "namespace" {
  description = "The reconciler flow's namespace."
  value       = weir_flow.this.namespace
}

output "flow_id" {
  description = "The reconciler flow's id; start a reconcile now with `POST /api/v1/executions/<namespace>/<flow_id>`."
  value       = weir_flow.this.flow_id
}

output "webhook_path" {
  description = "The path of the webhook to give the repository's push hook (after the server's URL), or null without `webhook_key`."
  value       = var.webhook_key == null ? null : "/api/v1/executions/webhook/${var.namespace}/${var.flow_id}/${var.webhook_key}"
}

output "revision" {
  description = "The flow's revision on the server."
  value       = weir_flow.this.revision
}

output "content" {
  description = "The flow's YAML, as sent to Weir."
  value       = weir_flow.this.content
}
