"""Subflow contracts at plan time, against the whole server: a subflow change that breaks a
caller fails the plan naming each caller, whether it is in the configuration or only on the
server; a caller that breaks its call fails too."""

from __future__ import annotations

import re

from controlplane.client import WeirClient
from tests.integration.provider.harness import Terraform

SUBFLOW = """
resource "weir_flow" "notify" {
  content = <<-EOT
    id: notify
    namespace: data.shared
    inputs:
%s
    tasks:
      - id: log
        type: io.kestra.plugin.core.log.Log
        message: "{{ inputs }}"
  EOT
}

resource "weir_flow" "ingest" {
  content = <<-EOT
    id: ingest
    namespace: data.team
    tasks:
      - id: done
        type: io.kestra.plugin.core.flow.Subflow
        namespace: data.shared
        flowId: notify
        inputs:
          pipeline: ingest
          attempts: %s
  EOT
}
"""
BEFORE = """      - id: pipeline
        type: STRING
      - id: attempts
        type: INT
        required: false"""
# pipeline renamed, and a new required input without a default.
AFTER = """      - id: pipeline_name
        type: STRING
      - id: run_date
        type: DATE
      - id: attempts
        type: INT
        required: false"""


def server_caller(namespace: str, flow_id: str) -> str:
    return f"""id: {flow_id}
namespace: {namespace}
tasks:
  - id: work
    type: io.kestra.plugin.core.log.Log
    message: working
errors:
  - id: tell
    type: io.kestra.plugin.core.flow.Subflow
    namespace: data.shared
    flowId: notify
    inputs:
      pipeline: {flow_id}
"""


def test_a_subflow_change_that_breaks_callers_fails_the_plan_naming_each(
    terraform: Terraform, weir: WeirClient
) -> None:
    terraform.write(SUBFLOW % (BEFORE, "3"))
    terraform.init()
    terraform.apply()
    # Two callers that only the server knows: one made by hand, one owned by a GitOps source.
    weir.flows.put(server_caller("data.team", "by-hand"))
    with WeirClient(weir.url, manager="gitops:analytics", retries=0) as gitops:
        gitops.flows.put(server_caller("analytics.reports", "daily"))
    assert terraform.plan()[0] == 0

    terraform.write(SUBFLOW % (AFTER, "3"))
    error = terraform.failing("plan", "-input=false")
    text = re.sub(r"\s+", " ", error)
    for caller in ("data.team/ingest", "data.team/by-hand", "analytics.reports/daily"):
        assert (
            f"{caller} passes input 'pipeline', which data.shared/notify does not declare" in text
        )
        assert f"{caller} does not pass 'pipeline_name', a required STRING input" in text
        assert f"{caller} does not pass 'run_date', a required DATE input" in text
    assert "on the server only, revision 1, managed by gitops:analytics" in text
    assert "on the server only, revision 1, managed by nobody" in text
    assert "line 13, errors[0].inputs.pipeline: data.team/by-hand passes input 'pipeline'" in text
    for caller in ("data.team/ingest", "data.team/by-hand", "analytics.reports/daily"):
        assert text.count(f"Error: {caller} would fail calling data.shared/notify") == 1
    assert "with weir_flow.notify" in text
    # Nothing was applied: the server still has the old interface.
    assert "pipeline_name" not in weir.flows.get("data.shared", "notify").source


def test_a_caller_that_breaks_its_call_fails_the_plan(terraform: Terraform) -> None:
    config = SUBFLOW.replace("data.", "other.")
    terraform.write(config % (BEFORE, "3"))
    terraform.init()
    terraform.apply()
    terraform.write(config % (BEFORE, "many"))
    error = re.sub(r"\s+", " ", terraform.failing("plan", "-input=false"))
    assert "Error: other.team/ingest would fail calling other.shared/notify" in error
    assert (
        "line 10, tasks[0].inputs.attempts: other.team/ingest passes input 'attempts' as a str "
        "('many'), but other.shared/notify declares it INT" in error
    )
    assert "with weir_flow.ingest" in error
