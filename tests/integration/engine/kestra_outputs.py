"""Outputs, attempts and logs that Kestra's tests assert of its test flows (EXPECTED.tsv's
``other_assertions``), written as checks on the finished execution and its log lines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from controlplane.engine.model import Execution, State, TaskRun

Check = Callable[[Execution, list[str]], None]


def run(execution: Execution, task_id: str, value: str | None = None) -> TaskRun:
    return next(
        r
        for r in execution.task_runs
        if r.task_id == task_id and (value is None or r.value == value)
    )


def _return(execution: Execution, logs: list[str]) -> None:
    stamp = run(execution, "date").outputs["value"]
    assert abs((datetime.fromisoformat(stamp) - execution.started).total_seconds()) < 10
    assert run(execution, "task-id").outputs["value"] == "task-id"
    assert run(execution, "flow-id").outputs["value"] == "return"


def _variables(execution: Execution, logs: list[str]) -> None:
    assert run(execution, "variable").outputs["value"] == "1 > 2 > 3"
    assert run(execution, "env").outputs["value"] == "true Pass by env"
    assert run(execution, "global").outputs["value"] == "string 1 true 2"


def _each_switch(execution: Execution, logs: list[str]) -> None:
    assert run(execution, "2-1-1_switch-number-1", "1").outputs["value"] == "1"
    assert run(execution, "2-1-1_switch-number-2", "2").outputs["value"] == "2 b"


def _task_runif(execution: Execution, logs: list[str]) -> None:
    states = {r.task_id: r.state for r in execution.task_runs}
    assert states["executed"] is State.SUCCESS
    assert states["notexecuted"] is State.SKIPPED
    assert states["willfailedtheflow"] is State.FAILED


CHECKS: dict[str, Check] = {
    "output-values.yaml": lambda e, _: _equal(
        {k: run(e, "return").outputs["values"][k] for k in ("output1", "output2")},
        {"output1": "xyz", "output2": "abc"},
    ),
    "flow-with-outputs.yaml": lambda e, _: _equal(
        e.outputs, {"key": '{"value":"flow-with-outputs"}'}
    ),
    "flow-with-array-outputs.yaml": lambda e, _: _equal(
        e.outputs, {"myout": ["1rstValue", "2ndValue"]}
    ),
    "flow-with-outputs-failed.yaml": lambda e, _: _equal(e.outputs, None),
    "return.yaml": _return,
    "variables.yaml": _variables,
    "each-switch.yaml": _each_switch,
    "task-runif.yaml": _task_runif,
    "each-object.yaml": lambda e, _: _contains(
        e.task_runs[6].outputs["value"], 'json > JSON > ["my-complex"]'
    ),
    "each-object-in-list.yaml": lambda e, _: _contains(
        e.task_runs[6].outputs["value"], 'json > JSON > ["my-complex"]'
    ),
    "full.yaml": lambda e, _: _contains(run(e, "t2").outputs["value"], "value1"),
    "working-directory-taskrun.yaml": lambda e, _: _contains(
        run(e, "log-taskrun").outputs["value"], "1"
    ),
    "working-directory-taskrun-nested.yaml": lambda e, _: _contains(
        run(e, "log-workerparent").outputs["value"], '{"taskrun":{"value":"1"}}'
    ),
    "waitfor-multiple-tasks.yaml": lambda e, _: _equal(
        e.task_runs[-1].outputs["values"]["count"], "4"
    ),
    "retry-success.yaml": lambda e, _: _equal(
        [a.state for a in e.task_runs[0].attempts], [State.FAILED] * 3 + [State.SUCCESS]
    ),
    "retry-failed.yaml": lambda e, _: _equal(len(e.task_runs[0].attempts), 5),
    "retry-expo.yaml": lambda e, _: _equal(len(e.task_runs[0].attempts), 3),
    "retry-random.yaml": lambda e, _: _equal(len(e.task_runs[0].attempts), 3),
    "retry-failed-task-duration.yaml": lambda e, _: _equal(len(run(e, "fail").attempts), 3),
    "retry-failed-task-attempts.yaml": lambda e, _: _equal(len(run(e, "fail").attempts), 4),
    "retry-failed-flow-attempts.yaml": lambda e, _: _equal(len(run(e, "fail").attempts), 4),
    "retry-failed-flow-duration.yaml": lambda e, _: _equal(len(run(e, "fail").attempts), 3),
    "retry-flowable.yaml": lambda e, _: _equal(len(e.task_runs[1].attempts), 3),
    "retry-flowable-child.yaml": lambda e, _: _equal(len(e.task_runs[1].attempts), 3),
    "retry-flowable-nested-child.yaml": lambda e, _: _equal(len(e.task_runs[2].attempts), 3),
    "task-allow-failure-runnable.yaml": lambda e, _: _equal(len(run(e, "fail").attempts), 3),
    "input-log-secret.yaml": lambda _, logs: _contains(logs, "This is my secret: ********"),
    "errors.yaml": lambda _, logs: _contains(logs, "- task: failed, message: Task failure"),
    "variables-invalid.yaml": lambda _, logs: _contains(" ".join(logs), "inputs.invalid"),
}


def _equal(actual: object, expected: object) -> None:
    assert actual == expected, f"{actual!r} != {expected!r}"


def _contains(actual: object, part: str) -> None:
    assert part in actual, f"{part!r} not in {actual!r}"  # type: ignore[operator]
