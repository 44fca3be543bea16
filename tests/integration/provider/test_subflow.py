"""``weir_subflow``: a declared interface, checked against the source, that callers rely on."""

from __future__ import annotations

from controlplane.client import WeirClient
from tests.integration.provider.harness import Terraform, by_terraform

SUBFLOW = """
resource "weir_subflow" "clean" {
  content = yamlencode({
    id        = "clean"
    namespace = "company.shared"
    inputs    = [{ id = "table", type = "STRING" }, { id = "days", type = "%s", required = false, defaults = 7 }]
    tasks     = [{ id = "log", type = "io.kestra.plugin.core.log.Log", message = "{{ inputs.table }}" }]
    outputs   = [{ id = "table", type = "STRING", value = "{{ inputs.table }}" }]
  })
  inputs  = [{ id = "table", type = "STRING" }, { id = "days", type = "INT" }]
  outputs = [{ id = "table", type = "STRING" }]
}

resource "weir_flow" "caller" {
  content = yamlencode({
    id        = "nightly"
    namespace = "company.team"
    tasks = [{
      id        = "call"
      type      = "io.kestra.plugin.core.flow.Subflow"
      namespace = weir_subflow.clean.namespace
      flowId    = weir_subflow.clean.flow_id
      inputs    = { for i in weir_subflow.clean.inputs : i.id => "x" if i.required }
      wait      = true
    }]
  })
}
"""


def test_subflow_lifecycle_and_a_caller_ordered_after_it(
    terraform: Terraform, weir: WeirClient
) -> None:
    terraform.write(SUBFLOW % "INT")
    terraform.init()
    out = terraform.apply()
    # The caller references the subflow: Terraform creates the subflow first.
    assert out.index("weir_subflow.clean: Creation complete") < out.index(
        "weir_flow.caller: Creating"
    )
    state = terraform.state()["weir_subflow.clean"]
    assert state["inputs"] == [
        {"id": "table", "type": "STRING", "required": True, "description": None},
        {"id": "days", "type": "INT", "required": False, "description": None},
    ]
    assert by_terraform(weir.flows.get("company.shared", "clean").managed_by)
    assert '"flowId": "clean"' in weir.flows.get("company.team", "nightly").source
    assert terraform.plan()[0] == 0

    # Drift: deleted outside Terraform.
    weir.flows.delete("company.shared", "clean", force=True)
    code, text = terraform.plan()
    assert code == 2 and "weir_subflow.clean will be created" in text
    terraform.apply()

    out = terraform.destroy()
    assert out.index("weir_flow.caller: Destruction complete") < out.index(
        "weir_subflow.clean: Destroying"
    )


def test_an_interface_that_differs_from_the_source_fails_the_plan(terraform: Terraform) -> None:
    terraform.write(SUBFLOW % "STRING")
    terraform.init()
    error = terraform.failing("plan", "-input=false")
    assert "declared type INT of days differs from the source's STRING" in error

    terraform.write(
        (SUBFLOW % "INT").replace('{ id = "days", type = "INT" }', '{ id = "day", type = "INT" }')
    )
    error = terraform.failing("plan", "-input=false")
    assert "the declared inputs differ from the source's" in error
    assert "Declared: table, day; the source has: table, days" in error


def test_subflow_import(terraform: Terraform, weir: WeirClient) -> None:
    weir.flows.put(
        "id: lib\nnamespace: company.shared\ninputs:\n  - id: n\n    type: INT\n"
        "tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )
    terraform.write(
        'resource "weir_subflow" "lib" {\n'
        '  content = "id: lib\\nnamespace: company.shared\\ninputs:\\n  - id: n\\n    type: INT\\n'
        'tasks:\\n  - id: log\\n    type: io.kestra.plugin.core.log.Log\\n    message: hi\\n"\n'
        '  inputs  = [{ id = "n", type = "INT" }]\n}\n'
    )
    terraform.init()
    terraform.run("import", "weir_subflow.lib", "company.shared/lib")
    code, text = terraform.plan()
    assert code == 2 and '+ managed_by = "terraform:config-' in text
    terraform.apply()
    assert by_terraform(weir.flows.get("company.shared", "lib").managed_by)
    assert terraform.plan()[0] == 0
