"""The real ``weir server standalone`` process on 127.0.0.1, driven only through the client, as a
user (or the Terraform provider, or the reconciler) would."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests

from controlplane.client import WeirClient
from controlplane.client.errors import Conflict
from controlplane.client.models import Execution
from tests.standalone import standalone
from tests.waiting import ended_through, wait_until

SECRET = "s3cr3t-Value-e2e-7f1c"
NAMESPACE = "e2e.team"

REPORT = f"""id: report
namespace: {NAMESPACE}
inputs:
  - id: name
    type: STRING
  - id: data
    type: FILE
tasks:
  - id: greet
    type: io.kestra.plugin.core.log.Log
    message: "Hello {{{{ inputs.name }}}}, threshold {{{{ kv('threshold') }}}}"
  - id: leak
    type: io.kestra.plugin.core.log.Log
    message: "the key is {{{{ secret('API_KEY') }}}}"
  - id: count
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ read(inputs.data) | trim | split('\\n') | length }}}}"
outputs:
  - id: rows
    type: STRING
    value: "{{{{ outputs.count.value }}}}"
"""

APPROVAL = f"""id: approval
namespace: {NAMESPACE}
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: approver
        type: STRING
  - id: done
    type: io.kestra.plugin.core.debug.Return
    format: "approved by {{{{ outputs.wait.onResume.approver }}}}"
"""

SLOW = f"""id: slow
namespace: {NAMESPACE}
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT5M
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    home = tmp_path_factory.mktemp("standalone")
    env = {**os.environ, "WEIR_HOME": str(home)}
    env.pop("WEIR_DATABASE_URL", None)
    with standalone(env, home) as (url, output):
        yield url, output


@pytest.fixture(scope="module")
def weir(server: tuple[str, list[str]]) -> Iterator[tuple[WeirClient, list[str]]]:
    """The client, and every response body and header it received (streams aside)."""
    seen: list[str] = []

    def record(response: requests.Response, *_args: object, **_kwargs: object) -> None:
        if "text/event-stream" not in response.headers.get("content-type", ""):
            seen.append(response.text)
        seen.append(repr(dict(response.headers)))

    client = WeirClient(server[0], manager=None)
    client.session.hooks["response"].append(record)
    with client:
        yield client, seen


def test_a_flow_runs_with_inputs_a_file_a_secret_and_kv_and_its_logs_follow_live(
    weir: tuple[WeirClient, list[str]],
) -> None:
    client, seen = weir
    client.namespaces.put(NAMESPACE, description="end to end")
    meta = client.secrets.set(NAMESPACE, "API_KEY", SECRET)
    assert meta.fingerprint and SECRET not in meta.fingerprint
    client.kv.set(NAMESPACE, "threshold", 42)
    client.flows.put(REPORT)

    run = client.executions.create(
        NAMESPACE, "report", inputs={"name": "Ada"}, files={"data": ("rows.csv", b"a\nb\nc\n")}
    )
    lines = [line.message for line in client.executions.follow_logs(run.id)]
    assert "Hello Ada, threshold 42" in lines
    assert any(line.startswith("the key is ") for line in lines)
    assert not any(SECRET in line for line in lines)
    done = client.executions.get(run.id)
    assert done.state == "SUCCESS"
    assert done.outputs == {"rows": "3"}
    assert client.executions.download(run.id, done.inputs["data"]) == b"a\nb\nc\n"

    assert [s.name for s in client.secrets.list(NAMESPACE)] == ["API_KEY"]
    assert not any(SECRET in text for text in seen)


def test_a_paused_execution_resumes_with_inputs(weir: tuple[WeirClient, list[str]]) -> None:
    client, _ = weir
    client.namespaces.put(NAMESPACE, description="end to end")
    client.flows.put(APPROVAL)
    run = client.executions.create(NAMESPACE, "approval")
    paused = _until(client, run.id, "PAUSED")
    assert paused.state == "PAUSED"
    client.executions.resume(run.id, {"approver": "Grace"})
    done = ended_through(client.executions, run.id)
    assert done.state == "SUCCESS"
    (returned,) = [t for t in done.task_runs if t["taskId"] == "done"]
    assert returned["outputs"] == {"value": "approved by Grace"}


def test_a_running_execution_is_killed(weir: tuple[WeirClient, list[str]]) -> None:
    client, _ = weir
    client.flows.put(SLOW)
    run = client.executions.create(NAMESPACE, "slow")
    _until(client, run.id, "RUNNING")
    client.executions.kill(run.id)
    assert ended_through(client.executions, run.id).state == "KILLED"


def test_stale_revisions_and_other_managers_are_refused_over_the_wire(
    weir: tuple[WeirClient, list[str]], server: tuple[str, list[str]]
) -> None:
    client, _ = weir
    with WeirClient(server[0], manager="terraform") as terraform:
        flow = terraform.flows.put(REPORT.replace("id: report", "id: owned"))
        with pytest.raises(Conflict) as managed:
            client.flows.put(REPORT.replace("id: report", "id: owned") + "# by hand\n")
        assert managed.value.managed_by == "terraform"
        with pytest.raises(Conflict):
            terraform.flows.put(
                REPORT.replace("id: report", "id: owned") + "# late\n",
                if_match=flow.revision + 1,
            )
        assert terraform.flows.get(NAMESPACE, "owned").revision == flow.revision


def _until(client: WeirClient, execution_id: str, state: str) -> Execution:
    execution: Execution = wait_until(
        lambda: client.executions.get(execution_id),
        lambda seen: seen.state == state or seen.terminal,
        f"execution {execution_id} to reach {state}",
    )
    assert execution.state == state, execution.raw
    return execution
