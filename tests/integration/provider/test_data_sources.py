"""Data sources ``weir_flow``, ``weir_flows`` and ``weir_namespace`` read what the server has."""

from __future__ import annotations

import json

from controlplane.client import WeirClient
from tests.integration.provider.harness import Terraform

FLOW = """id: {id}
namespace: {namespace}
labels:
  team: {team}
inputs:
  - id: day
    type: DATE
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hi
"""

CONFIG = """
data "weir_namespace" "data" { name = "company.data" }
data "weir_flow" "load" {
  namespace = "company.data"
  flow_id   = "load"
}
data "weir_flows" "finance" {
  namespace = "company"
  labels    = { team = "finance" }
}
output "description" { value = data.weir_namespace.data.description }
output "first_input" { value = data.weir_flow.load.inputs[0].type }
output "content" { value = data.weir_flow.load.content }
output "finance" { value = data.weir_flows.finance.ids }
"""


def test_data_sources_read_the_server(terraform: Terraform, weir: WeirClient) -> None:
    weir.namespaces.put("company.data", description="Loads")
    weir.flows.put(FLOW.format(id="load", namespace="company.data", team="data"))
    weir.flows.put(FLOW.format(id="pay", namespace="company.data", team="finance"))
    weir.flows.put(FLOW.format(id="book", namespace="company.data.sub", team="finance"))
    weir.flows.put(FLOW.format(id="other", namespace="elsewhere", team="finance"))
    terraform.write(CONFIG)
    terraform.init()
    terraform.apply()
    outputs = json.loads(terraform.run("output", "-json").stdout)
    assert outputs["description"]["value"] == "Loads"
    assert outputs["first_input"]["value"] == "DATE"
    assert outputs["content"]["value"] == FLOW.format(
        id="load", namespace="company.data", team="data"
    )
    assert outputs["finance"]["value"] == ["company.data/pay", "company.data.sub/book"]


def test_a_missing_flow_is_an_error_naming_it(terraform: Terraform) -> None:
    terraform.write(
        'data "weir_flow" "gone" {\n  namespace = "company.none"\n  flow_id = "gone"\n}\n'
    )
    terraform.init()
    error = terraform.failing("plan", "-input=false")
    assert "flow company.none/gone does not exist" in error
