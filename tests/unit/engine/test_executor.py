"""The executor's decisions, step by step: given results, which task runs start and end.

The step is a pure function of the execution and the flow, so these tests drive it with attempt
results as data and check the transitions it decides.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from controlplane.engine.executor import Step, StepEnv
from controlplane.engine.model import Execution, State, now
from controlplane.engine.work import AttemptResult, WorkItem
from controlplane.expr import Renderer
from controlplane.spec.flow import Flow
from controlplane.spec.validate import validate_text

HEAD = "id: f\nnamespace: company.team\n"


def flow(text: str) -> Flow:
    result = validate_text(HEAD + text)
    assert result.ok and result.flow is not None, result.problems
    return result.flow


Outcome = Callable[[WorkItem], State]


def succeed(item: WorkItem) -> State:
    return State.SUCCESS


def drive(spec: Flow, outcome: Outcome = succeed, steps: int = 50) -> Execution:
    """Advance an execution, answering every dispatched attempt with ``outcome``."""
    execution = Execution(id="e1", namespace=spec.namespace, flow_id=spec.id, flow_revision=1)
    env = StepEnv(Renderer(), Path("/tmp/weir-test-work"))
    pending: list[AttemptResult] = []
    for _ in range(steps):
        step = Step(execution, spec, env)
        for result in pending:
            step.apply_result(result)
        effects = step.advance()
        pending = [
            AttemptResult(item.task_run_id, item.attempt, outcome(item), now(), now())
            for item in effects.dispatch
        ]
        if not pending and effects.wake_at is None:
            break
    return execution


def states(execution: Execution) -> list[tuple[str, str | None, State]]:
    return [(r.task_id, r.value, r.state) for r in execution.task_runs]


def test_sequential_tasks_run_one_after_the_other() -> None:
    execution = drive(flow(
        "tasks:\n"
        "  - {id: a, type: io.kestra.plugin.core.debug.Return, format: x}\n"
        "  - {id: b, type: io.kestra.plugin.core.debug.Return, format: y}\n"
    ))  # fmt: skip
    assert execution.state is State.SUCCESS
    assert states(execution) == [("a", None, State.SUCCESS), ("b", None, State.SUCCESS)]


def test_a_failure_stops_the_list_and_runs_the_errors_branch() -> None:
    spec = flow(
        "tasks:\n"
        "  - {id: a, type: io.kestra.plugin.core.execution.Fail}\n"
        "  - {id: b, type: io.kestra.plugin.core.debug.Return, format: y}\n"
        "errors:\n"
        "  - {id: alert, type: io.kestra.plugin.core.log.Log, message: failed}\n"
    )
    execution = drive(spec, lambda item: State.FAILED if item.task.id == "a" else State.SUCCESS)
    assert execution.state is State.FAILED
    assert states(execution) == [("a", None, State.FAILED), ("alert", None, State.SUCCESS)]


def test_allow_failure_turns_a_failure_into_a_warning_and_goes_on() -> None:
    spec = flow(
        "tasks:\n"
        "  - {id: a, type: io.kestra.plugin.core.execution.Fail, allowFailure: true}\n"
        "  - {id: b, type: io.kestra.plugin.core.debug.Return, format: y}\n"
    )
    execution = drive(spec, lambda item: State.FAILED if item.task.id == "a" else State.SUCCESS)
    assert execution.state is State.WARNING
    assert states(execution) == [("a", None, State.WARNING), ("b", None, State.SUCCESS)]


def test_retries_record_every_attempt() -> None:
    spec = flow(
        "tasks:\n"
        "  - id: a\n    type: io.kestra.plugin.core.execution.Fail\n"
        "    retry: {type: constant, interval: PT0S, maxAttempts: 3}\n"
    )
    execution = drive(spec, lambda item: State.FAILED)
    [run] = execution.task_runs
    assert run.state is State.FAILED
    assert [a.state for a in run.attempts] == [State.FAILED] * 3


def test_for_each_runs_its_tasks_per_value_one_value_at_a_time() -> None:
    spec = flow(
        "tasks:\n"
        "  - id: loop\n    type: io.kestra.plugin.core.flow.ForEach\n    values: [a, b]\n"
        "    tasks:\n"
        "      - {id: one, type: io.kestra.plugin.core.debug.Return, format: '{{ taskrun.value }}'}\n"
        "      - {id: two, type: io.kestra.plugin.core.debug.Return, format: x}\n"
    )
    seen: list[tuple[str, str]] = []

    def record(item: WorkItem) -> State:
        seen.append((item.task.id, item.variables["taskrun"]["value"]))
        return State.SUCCESS

    execution = drive(spec, record)
    assert execution.state is State.SUCCESS
    assert seen == [("one", "a"), ("two", "a"), ("one", "b"), ("two", "b")]
    assert len(execution.task_runs) == 5


def test_if_takes_the_branch_its_condition_names() -> None:
    spec = flow(
        "inputs:\n  - {id: go, type: BOOL, defaults: false}\n"
        "tasks:\n"
        "  - id: choose\n    type: io.kestra.plugin.core.flow.If\n    condition: '{{ 1 == 2 }}'\n"
        "    then:\n      - {id: yes, type: io.kestra.plugin.core.debug.Return, format: y}\n"
        "    else:\n      - {id: no, type: io.kestra.plugin.core.debug.Return, format: n}\n"
    )
    execution = drive(spec)
    assert states(execution) == [("choose", None, State.SUCCESS), ("no", None, State.SUCCESS)]
    assert execution.task_runs[0].outputs == {"evaluationResult": False}


def test_parallel_children_start_together() -> None:
    spec = flow(
        "tasks:\n"
        "  - id: par\n    type: io.kestra.plugin.core.flow.Parallel\n    tasks:\n"
        "      - {id: a, type: io.kestra.plugin.core.debug.Return, format: a}\n"
        "      - {id: b, type: io.kestra.plugin.core.debug.Return, format: b}\n"
    )
    execution = Execution(id="e1", namespace=spec.namespace, flow_id=spec.id, flow_revision=1)
    effects = Step(execution, spec, StepEnv(Renderer(), Path("/tmp"))).advance()
    assert sorted(item.task.id for item in effects.dispatch) == ["a", "b"]


def test_run_if_false_skips_the_task() -> None:
    execution = drive(flow(
        "tasks:\n"
        "  - {id: a, type: io.kestra.plugin.core.debug.Return, format: x, runIf: '{{ false }}'}\n"
        "  - {id: b, type: io.kestra.plugin.core.debug.Return, format: y}\n"
    ))  # fmt: skip
    assert states(execution) == [("a", None, State.SKIPPED), ("b", None, State.SUCCESS)]
    assert execution.state is State.SUCCESS


def test_after_execution_runs_once_the_state_is_final() -> None:
    spec = flow(
        "tasks:\n"
        "  - {id: a, type: io.kestra.plugin.core.execution.Fail}\n"
        "afterExecution:\n"
        "  - {id: notify, type: io.kestra.plugin.core.log.Log, message: '{{ execution.state }}'}\n"
    )
    seen: list[str] = []

    def record(item: WorkItem) -> State:
        if item.task.id == "notify":
            seen.append(item.variables["execution"]["state"])
            return State.FAILED  # its own failure does not change the execution's state
        return State.FAILED

    execution = drive(spec, record)
    assert seen == ["FAILED"]
    assert execution.state is State.FAILED
    assert states(execution) == [("a", None, State.FAILED), ("notify", None, State.FAILED)]


def test_finally_runs_after_a_failure_and_after_the_errors_branch() -> None:
    spec = flow(
        "tasks:\n"
        "  - {id: a, type: io.kestra.plugin.core.execution.Fail}\n"
        "errors:\n"
        "  - {id: alert, type: io.kestra.plugin.core.log.Log, message: failed}\n"
        "finally:\n"
        "  - {id: cleanup, type: io.kestra.plugin.core.log.Log, message: done}\n"
    )
    execution = drive(spec, lambda item: State.FAILED if item.task.id == "a" else State.SUCCESS)
    assert [r.task_id for r in execution.task_runs] == ["a", "alert", "cleanup"]
    assert execution.state is State.FAILED


def test_exit_ends_the_execution_in_its_state_and_starts_nothing_after_it() -> None:
    execution = drive(flow(
        "tasks:\n"
        "  - {id: a, type: io.kestra.plugin.core.debug.Return, format: x}\n"
        "  - {id: leave, type: io.kestra.plugin.core.execution.Exit, state: WARNING}\n"
        "  - {id: never, type: io.kestra.plugin.core.debug.Return, format: y}\n"
    ))  # fmt: skip
    assert execution.state is State.WARNING
    assert states(execution) == [("a", None, State.SUCCESS), ("leave", None, State.SUCCESS)]
