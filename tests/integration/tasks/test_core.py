"""Core runnable tasks and the attempt's services (logs, masking, files, labels, errors)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest

from controlplane.engine.attempt_context import AttemptContext
from controlplane.engine.attempt_functions import default_renderer
from controlplane.engine.attempt_run import run_attempt
from controlplane.engine.model import State, new_id
from controlplane.engine.process import CancelEvent
from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.tasks import TaskSpec
from tests.integration.tasks.conftest import Runner
from tests.waiting import wait_until

LOG = "io.kestra.plugin.core.log.Log"
RETURN = "io.kestra.plugin.core.debug.Return"


def test_return_renders_its_format_from_the_task_run_context(runner: Runner) -> None:
    result = runner.run(
        {"id": "r", "type": RETURN, "format": "{{ inputs.name }} in {{ flow.namespace }}"},
        inputs={"name": "Ada"},
    )
    assert result.state is State.SUCCESS
    assert result.outputs == {"value": "Ada in company.team"}


def test_a_task_that_logged_nothing_writes_no_log(runner: Runner) -> None:
    result = runner.run({"id": "r", "type": RETURN, "format": "x"})
    assert runner.logs(result) == []


def test_log_writes_each_message_of_a_list_at_its_level(runner: Runner) -> None:
    result = runner.run(
        {"id": "l", "type": LOG, "message": ["one {{ 1 + 1 }}", "three"], "level": "WARN"}
    )
    assert result.state is State.SUCCESS
    assert [(e.level, e.message) for e in runner.logs(result)] == [
        ("WARN", "one 2"),
        ("WARN", "three"),
    ]


def test_echo_logs_its_format(runner: Runner) -> None:
    result = runner.run({"id": "e", "type": "io.kestra.plugin.core.debug.Echo", "format": "hi"})
    assert runner.messages(result) == ["hi"]


def test_log_level_of_the_task_drops_lower_lines(runner: Runner) -> None:
    result = runner.run(
        {"id": "l", "type": LOG, "message": "hidden", "level": "DEBUG", "logLevel": "INFO"}
    )
    kept = runner.run(
        {"id": "l", "type": LOG, "message": "kept", "level": "ERROR", "logLevel": "WARN"}
    )
    assert runner.messages(result) == []
    assert runner.messages(kept) == ["kept"]


def test_output_values_are_rendered_as_text_as_in_kestra(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "o",
            "type": "io.kestra.plugin.core.output.OutputValues",
            "values": {"n": "{{ 2 * 21 }}", "list": "{{ [1, 2] }}", "text": "n={{ 1 }}"},
        }
    )
    assert result.outputs == {"values": {"n": "42", "list": "[1,2]", "text": "n=1"}}


@pytest.mark.parametrize(
    "labels",
    [
        {"team": "{{ inputs.team }}", "n": 1},
        [{"key": "team", "value": "data"}, {"key": "n", "value": "1"}],
        '{"team": "data", "n": "1"}',
    ],
)
def test_labels_task_sets_execution_labels(runner: Runner, labels: object) -> None:
    result = runner.run(
        {"id": "l", "type": "io.kestra.plugin.core.execution.Labels", "labels": labels},
        inputs={"team": "data"},
    )
    assert result.state is State.SUCCESS
    assert result.labels == {"team": "data", "n": "1"}


def test_fail_without_condition_fails_with_its_message(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "f",
            "type": "io.kestra.plugin.core.execution.Fail",
            "errorMessage": "bad {{ inputs.x }}",
        },
        inputs={"x": 3},
    )
    assert result.state is State.FAILED
    assert result.error == "bad 3"
    assert [(e.level, e.message) for e in runner.logs(result)] == [("ERROR", "bad 3")]


@pytest.mark.parametrize(("value", "state"), [(1, State.FAILED), (0, State.SUCCESS)])
def test_fail_only_fails_when_its_condition_is_truthy(
    runner: Runner, value: int, state: State
) -> None:
    result = runner.run(
        {
            "id": "f",
            "type": "io.kestra.plugin.core.execution.Fail",
            "condition": "{{ inputs.x == 1 }}",
        },
        inputs={"x": value},
    )
    assert result.state is state


def test_assert_names_the_failing_condition(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "a",
            "type": "io.kestra.plugin.core.execution.Assert",
            "conditions": ["{{ inputs.x > 0 }}", "{{ inputs.x > 5 }}"],
        },
        inputs={"x": 3},
    )
    assert result.state is State.FAILED
    assert "Assertion `{{ inputs.x > 5 }}` failed!" in runner.messages(result)
    assert "{{ inputs.x > 0 }}" not in (result.error or "")


def test_assert_passes_when_every_condition_holds(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "a",
            "type": "io.kestra.plugin.core.execution.Assert",
            "conditions": ["{{ true }}", "{{ 1 == 1 }}"],
        }
    )
    assert result.state is State.SUCCESS


def test_undefined_variable_fails_with_the_expression(runner: Runner) -> None:
    result = runner.run({"id": "r", "type": RETURN, "format": "{{ inputs.invalid }}"})
    assert result.state is State.FAILED
    assert result.error is not None
    assert "`{{ inputs.invalid }}`" in result.error
    assert "inputs" in result.error
    assert "Traceback" not in "".join(runner.messages(result))


def test_secret_values_are_masked_in_logs(runner: Runner) -> None:
    runner.put_secret("company", "TOKEN", "s3cr3t-value")
    result = runner.run(
        {
            "id": "l",
            "type": LOG,
            "message": ["token={{ secret('TOKEN') }}", "input={{ inputs.pw }}"],
        },
        inputs={"pw": "hunter22"},
        secret_values=("hunter22",),
    )
    assert result.state is State.SUCCESS
    assert runner.messages(result) == ["token=********", "input=********"]


def test_secret_reads_the_nearest_namespace_first(runner: Runner) -> None:
    runner.put_secret("company", "K", "parent")
    runner.put_secret("company.team", "K", "child")
    # Outputs never hold a secret in clear: compare it instead of returning it.
    result = runner.run({"id": "r", "type": RETURN, "format": "{{ secret('K') == 'child' }}"})
    assert result.outputs == {"value": "true"}


def test_missing_secret_fails_clearly(runner: Runner) -> None:
    result = runner.run({"id": "r", "type": RETURN, "format": "{{ secret('NOPE') }}"})
    assert result.state is State.FAILED
    assert "the secret 'NOPE' does not exist in namespace 'company.team'" in (result.error or "")


def test_sleep_is_interrupted_by_a_kill(runner: Runner, store: object) -> None:
    cancelled = CancelEvent()
    item = runner.item({"id": "s", "type": "io.kestra.plugin.core.flow.Sleep", "duration": "PT60S"})
    threading.Timer(0.2, cancelled.set).start()
    started = time.monotonic()
    result = run_attempt(item, runner.store, runner.settings, cancelled=cancelled)
    assert result.state is State.KILLED
    assert time.monotonic() - started < 5


def test_timeout_fails_the_attempt_and_says_so(runner: Runner) -> None:
    result = runner.run(
        {"id": "s", "type": "io.kestra.plugin.core.flow.Sleep", "duration": "PT60S"},
        timeout=timedelta(seconds=0.3),
    )
    assert result.state is State.FAILED
    assert "Timeout after PT0.3S" in (result.error or "")
    assert any("Timeout after PT0.3S" in m for m in runner.messages(result))


def test_put_file_uses_kestras_layout_and_read_returns_it(runner: Runner) -> None:
    item = runner.item({"id": "r", "type": RETURN, "format": "x"})
    ctx = AttemptContext(item, runner.store, runner.settings, default_renderer())
    uri = ctx.put_file("data.txt", b"hello")
    assert uri == (
        f"kestra:///company/team/flow/executions/{item.execution_id}/tasks/r/"
        f"{item.task_run_id}/data.txt"
    )
    assert ctx.render("{{ read('" + uri + "') }}") == "hello"
    assert ctx.render("{{ fileSize('" + uri + "') }} {{ fileExists('" + uri + "') }}") == "5 true"


def test_open_file_refuses_another_executions_file(runner: Runner) -> None:
    other = runner.item({"id": "r", "type": RETURN, "format": "x"})
    other_uri = AttemptContext(other, runner.store, runner.settings, default_renderer()).put_file(
        "private.txt", b"theirs"
    )
    item = runner.item({"id": "r", "type": RETURN, "format": "{{ read('" + other_uri + "') }}"})
    ctx = AttemptContext(item, runner.store, runner.settings, default_renderer())
    with pytest.raises(TaskFailed, match="belongs to another execution"):
        ctx.open_file(other_uri)
    with pytest.raises(TaskFailed, match="belongs to another execution"):
        ctx.open_file(f"kestra:///company/team/flow/executions/{item.execution_id}/../../x")
    result = run_attempt(item, runner.store, runner.settings)
    assert result.state is State.FAILED
    assert other_uri in (result.error or "")


def test_a_subflow_may_read_its_parent_executions_files(runner: Runner) -> None:
    parent = runner.item({"id": "r", "type": RETURN, "format": "x"})
    uri = AttemptContext(parent, runner.store, runner.settings, default_renderer()).put_file(
        "shared.txt", b"from parent"
    )
    parents = (("company.team", "flow", parent.execution_id),)
    result = runner.run(
        {"id": "r", "type": RETURN, "format": "{{ read('" + uri + "') }}"},
        parent_executions=parents,
    )
    assert result.outputs == {"value": "from parent"}


def test_read_and_file_uri_reach_namespace_files(runner: Runner) -> None:
    runner.store.files.put("company/team/_files/conf/app.txt", b"ns file")
    result = runner.run(
        {
            "id": "r",
            "type": RETURN,
            "format": "{{ read('conf/app.txt') }}|{{ fileURI('conf/app.txt') }}",
        }
    )
    assert result.outputs == {"value": "ns file|kestra:///company/team/_files/conf/app.txt"}


def test_purge_deletes_the_executions_files(runner: Runner) -> None:
    execution_id = new_id()
    item = runner.item({"id": "r", "type": RETURN}, execution_id=execution_id)
    uri = AttemptContext(item, runner.store, runner.settings, default_renderer()).put_file(
        "a.txt", b"a"
    )
    result = runner.run(
        {"id": "p", "type": "io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles"},
        execution_id=execution_id,
    )
    assert result.outputs == {"uris": [uri]}
    assert not runner.store.files.exists(uri)


class _Broken(TaskSpec):
    """A task whose implementation has a bug."""


@runs(_Broken)
def _run_broken(task: _Broken, ctx: RunContext) -> None:
    raise ValueError("a bug in the task")


def test_an_unexpected_error_is_logged_with_its_type_and_no_traceback(runner: Runner) -> None:
    item = runner.item({"id": "r", "type": RETURN})
    broken = replace(item, task=_Broken(id="b", type="test.Broken"))
    result = run_attempt(broken, runner.store, runner.settings)
    assert result.state is State.FAILED
    assert result.error == "ValueError: a bug in the task"
    assert runner.messages(result) == ["ValueError: a bug in the task"]


def test_live_logs_are_written_while_the_task_still_runs(runner: Runner) -> None:
    item = runner.item(
        {
            "id": "c",
            "type": "io.kestra.plugin.scripts.shell.Commands",
            "commands": ["echo started", "sleep 2", "echo done"],
        }
    )
    done = threading.Event()

    def attempt() -> None:
        run_attempt(item, runner.store, runner.settings)
        done.set()

    thread = threading.Thread(target=attempt)
    thread.start()

    def seen() -> list[str]:
        with runner.store.unit() as repos:
            return [entry.message for _, entry in repos.logs.list_logs(item.execution_id)]

    # The first line is stored while the task sleeps: before "done", and before the attempt ends.
    assert wait_until(seen, what="the first log line") == ["started"]
    assert not done.is_set()
    thread.join()
