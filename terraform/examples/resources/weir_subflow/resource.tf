# A subflow declares its interface; the plan fails when the YAML disagrees with it.
resource "weir_subflow" "load_table" {
  content = yamlencode({
    id        = "load_table"
    namespace = "company.shared"
    inputs = [
      { id = "table", type = "STRING" },
      { id = "days", type = "INT", required = false, defaults = 7 },
    ]
    tasks = [
      { id = "load", type = "io.kestra.plugin.core.log.Log", message = "Loading {{ inputs.table }}" },
    ]
    outputs = [
      { id = "table", type = "STRING", value = "{{ inputs.table }}" },
    ]
  })

  inputs = [
    { id = "table", type = "STRING" },
    { id = "days", type = "INT" },
  ]
  outputs = [
    { id = "table", type = "STRING" },
  ]
}

# A caller referencing the subflow is created after it and destroyed before it.
resource "weir_flow" "nightly" {
  content = yamlencode({
    id        = "nightly"
    namespace = "company.team"
    tasks = [{
      id        = "orders"
      type      = "io.kestra.plugin.core.flow.Subflow"
      namespace = weir_subflow.load_table.namespace
      flowId    = weir_subflow.load_table.flow_id
      inputs    = { table = "orders" }
      wait      = true
    }]
  })
}
