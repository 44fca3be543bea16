locals {
  flow = {
    id          = var.flow_id
    namespace   = var.namespace
    description = var.description
    labels      = length(var.labels) == 0 ? null : var.labels
    inputs      = length(var.inputs) == 0 ? null : [for i in var.inputs : { for k, v in i : k => v if v != null }]
    tasks       = var.tasks
    outputs     = length(var.outputs) == 0 ? null : var.outputs
  }
}

resource "weir_subflow" "this" {
  namespace = var.namespace
  flow_id   = var.flow_id
  content   = yamlencode({ for k, v in local.flow : k => v if v != null })

  # The interface callers rely on; the provider refuses a source that does not match it.
  inputs = [for i in var.inputs : {
    id          = i.id
    type        = i.type
    required    = i.required
    description = i.description
  }]
  outputs = length(var.outputs) == 0 ? null : [for o in var.outputs : { id = o.id, type = o.type }]
}
