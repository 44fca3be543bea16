"""Executions through the client on a live server: starting with inputs, labels and files,
waiting, logs (read and followed), kill, resume, restart, search and downloads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from controlplane.client import Conflict, Invalid, NotFound, WeirClient
from controlplane.client.models import Execution
from tests.integration.api.conftest import LiveServer
from tests.waiting import wait_until

NS = "client.runs"

HELLO = f"""\
id: hello
namespace: {NS}
inputs:
  - id: name
    type: STRING
    defaults: world
tasks:
  - id: greet
    type: io.kestra.plugin.core.log.Log
    message: "Hello, {{{{ inputs.name }}}}!"
  - id: greeting
    type: io.kestra.plugin.core.debug.Return
    format: "Hello, {{{{ inputs.name }}}}"
outputs:
  - id: greeting
    type: STRING
    value: "{{{{ outputs.greeting.value }}}}"
"""

UPLOAD = f"""\
id: upload
namespace: {NS}
inputs:
  - id: data
    type: FILE
  - id: count
    type: INT
tasks:
  - id: seen
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ inputs.count }}}}"
"""

SLEEP = f"""\
id: sleep
namespace: {NS}
tasks:
  - id: sleep
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT30S
"""

PAUSE = f"""\
id: pause
namespace: {NS}
tasks:
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: asked
        type: STRING
  - id: last
    type: io.kestra.plugin.core.output.OutputValues
    values:
      asked: "{{{{ outputs.pause.onResume.asked }}}}"
"""

FAIL = f"""\
id: fail
namespace: {NS}
tasks:
  - id: fail
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: always
"""


@pytest.fixture(scope="module", autouse=True)
def flows(live: LiveServer) -> None:
    with WeirClient(live.url) as weir:
        weir.flows.apply_namespace(NS, [HELLO, UPLOAD, SLEEP, PAUSE, FAIL])


def until(weir: WeirClient, execution_id: str, check: Callable[[Execution], bool]) -> Execution:
    """The execution once ``check`` holds for it; the wait lasts while it changes."""
    execution: Execution = wait_until(
        lambda: weir.executions.get(execution_id), check, f"execution {execution_id}"
    )
    return execution


def test_an_execution_runs_to_its_end_with_inputs_labels_outputs_and_logs(
    weir: WeirClient,
) -> None:
    started = weir.executions.create(NS, "hello", {"name": "Ada"}, labels={"run": "client"})
    assert (started.namespace, started.flow_id, started.labels["run"]) == (NS, "hello", "client")
    done = weir.executions.wait(started.id, timeout=30, poll=0.05)
    assert (done.state, done.inputs, done.outputs) == (
        "SUCCESS", {"name": "Ada"}, {"greeting": "Hello, Ada"},
    )  # fmt: skip
    assert [run["taskId"] for run in done.task_runs] == ["greet", "greeting"]
    assert done.raw["flowRevision"] == 1
    (line,) = weir.executions.logs(done.id, min_level="INFO")
    assert (line.level, line.task_id, line.message) == ("INFO", "greet", "Hello, Ada!")
    assert weir.executions.logs(done.id, after=line.seq) == []
    assert list(weir.executions.follow_logs(done.id)) == weir.executions.logs(done.id)
    found = weir.executions.search(namespace=NS, flow_id="hello", state="SUCCESS")
    assert done.id in [e.id for e in found.results]


def test_follow_logs_yields_lines_as_they_come_and_ends_with_the_execution(
    weir: WeirClient,
) -> None:
    started = weir.executions.create(NS, "hello", {"name": "Bo"})
    messages = [line.message for line in weir.executions.follow_logs(started.id)]
    assert "Hello, Bo!" in messages
    assert weir.executions.get(started.id).terminal


def test_files_are_sent_as_multipart_and_downloaded(weir: WeirClient, tmp_path: Path) -> None:
    local = tmp_path / "orders.csv"
    local.write_bytes(b"id,total\n1,9.5\n")
    started = weir.executions.create(NS, "upload", {"count": 2}, {"via": "form"}, {"data": local})
    done = weir.executions.wait(started.id, timeout=30, poll=0.05)
    assert (done.state, done.inputs["count"], done.labels["via"]) == ("SUCCESS", 2, "form")
    assert weir.executions.download(done.id, done.inputs["data"]) == b"id,total\n1,9.5\n"
    again = weir.executions.create(NS, "upload", {"count": 1}, files={"data": ("a.txt", b"bytes")})
    assert weir.executions.download(again.id, again.inputs["data"]) == b"bytes"
    with pytest.raises(NotFound):
        weir.executions.download(done.id, again.inputs["data"])


def test_bad_inputs_and_unknown_flows_are_refused(weir: WeirClient) -> None:
    with pytest.raises(Invalid) as bad:
        weir.executions.create(NS, "upload", {"count": "many"}, files={"data": ("a", b"")})
    assert bad.value.status == 422 and "count" in bad.value.message
    with pytest.raises(NotFound) as unknown:
        weir.executions.create(NS, "nope")
    assert unknown.value.message == f"flow {NS}/nope does not exist"


def test_a_running_execution_is_killed(weir: WeirClient) -> None:
    started = weir.executions.create(NS, "sleep")
    assert until(weir, started.id, lambda e: e.state == "RUNNING").state == "RUNNING"
    weir.executions.kill(started.id)
    assert weir.executions.wait(started.id, timeout=30, poll=0.05).state == "KILLED"
    with pytest.raises(Conflict):
        weir.executions.kill(started.id)


def test_a_paused_execution_is_resumed_with_inputs(weir: WeirClient) -> None:
    started = weir.executions.create(NS, "pause")
    with pytest.raises(TimeoutError) as waited:
        weir.executions.wait(started.id, timeout=0.5, poll=0.05)
    assert str(waited.value) == f"execution {started.id} did not end within 0.5s; it is PAUSED"
    assert weir.executions.get(started.id).state == "PAUSED"
    weir.executions.resume(started.id, {"asked": "yes"})
    done = weir.executions.wait(started.id, timeout=30, poll=0.05)
    assert (done.state, done.task_runs[-1]["outputs"]) == ("SUCCESS", {"values": {"asked": "yes"}})
    with pytest.raises(Conflict) as not_paused:
        weir.executions.resume(started.id)
    assert not_paused.value.code == "not_paused"


def test_a_failed_execution_is_restarted_in_place(weir: WeirClient) -> None:
    started = weir.executions.create(NS, "fail")
    assert weir.executions.wait(started.id, timeout=30, poll=0.05).state == "FAILED"
    weir.executions.restart(started.id)

    def restarted(execution: Execution) -> bool:
        states = [h["state"] for h in execution.raw["state"]["histories"]]
        return "RESTARTED" in states and execution.terminal

    again = until(weir, started.id, restarted)
    assert (again.id, again.state) == (started.id, "FAILED")
    assert len(again.task_runs[0]["attempts"]) == 2
