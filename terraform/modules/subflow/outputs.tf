output "id" {
  description = "`namespace/flow_id` of the subflow."
  value       = weir_subflow.this.id
}

output "namespace" {
  description = "The subflow's namespace."
  value       = weir_subflow.this.namespace
}

output "flow_id" {
  description = "The subflow's id."
  value       = weir_subflow.this.flow_id
}

output "revision" {
  description = "The subflow's revision on the server; it grows with every change."
  value       = weir_subflow.this.revision
}

output "inputs" {
  description = "The declared inputs: id, type, required, description."
  value       = weir_subflow.this.inputs
}

output "outputs" {
  description = "The declared outputs: id and type."
  value       = coalesce(weir_subflow.this.outputs, [])
}

output "call" {
  description = <<-EOT
    A Subflow task that calls this subflow, to put in a caller's tasks (through yamlencode): it
    waits for the subflow and fails when it fails. Each input is passed as the caller's input of
    the same id ("{{ inputs.<id> }}"); replace them, and the task id, with merge(), such as
    merge(module.load.call, { id = "load", inputs = { table = "orders" } }). Referring to it
    makes Terraform create the subflow before the caller, and destroy it after.
  EOT
  value = {
    id             = replace(weir_subflow.this.flow_id, ".", "_")
    type           = "io.kestra.plugin.core.flow.Subflow"
    namespace      = weir_subflow.this.namespace
    flowId         = weir_subflow.this.flow_id
    wait           = true
    transmitFailed = true
    inputs         = { for i in weir_subflow.this.inputs : i.id => "{{ inputs.${i.id} }}" }
  }
}
