"""Decisions around the tasks: error and finally branches, tolerated failures, pauses, kills,
restarts, SLAs and subflows, each driven step by step without a worker."""

from __future__ import annotations

from datetime import timedelta

import pytest

from controlplane.engine.model import State
from tests.unit.engine.stepping import FLOW, Drive, child, leaf

# -- errors and finally --------------------------------------------------------------------------
BRANCHES = (
    f"tasks:\n  - {leaf('a')}\nerrors:\n  - {leaf('alert')}\nfinally:\n  - {leaf('cleanup')}\n"
)


def test_errors_are_skipped_and_finally_runs_after_a_success() -> None:
    run = Drive(BRANCHES)
    run.start()
    run.answer("a")
    assert run.out() == ["cleanup"]
    assert run.ex.state is State.RUNNING
    run.answer("cleanup")
    assert run.created() == ["a", "cleanup"]
    assert run.ex.state is State.SUCCESS


def test_errors_then_finally_run_after_a_failure_and_the_execution_fails() -> None:
    run = Drive(BRANCHES)
    run.start()
    run.answer("a", State.FAILED)
    assert run.out() == ["alert"]
    run.answer("alert")
    assert run.out() == ["cleanup"]
    run.answer("cleanup")
    assert run.ex.state is State.FAILED


def test_a_failing_finally_fails_a_successful_execution() -> None:
    run = Drive(BRANCHES)
    run.start()
    run.answer("a")
    run.answer("cleanup", State.FAILED)
    assert run.ex.state is State.FAILED


def test_a_failing_errors_branch_still_lets_finally_run() -> None:
    run = Drive(BRANCHES)
    run.start()
    run.answer("a", State.FAILED)
    run.answer("alert", State.FAILED)
    assert run.out() == ["cleanup"]
    run.answer("cleanup")
    assert run.ex.state is State.FAILED


def test_a_flowables_own_errors_branch_runs_inside_it_and_it_fails() -> None:
    run = Drive(
        f"tasks:\n  - id: seq\n    type: {FLOW}.Sequential\n"
        f"    tasks:\n      - {leaf('a')}\n"
        f"    errors:\n      - {leaf('inner_alert')}\n"
        f"    finally:\n      - {leaf('inner_cleanup')}\n"
        f"errors:\n  - {leaf('outer_alert')}\n"
    )
    run.start()
    run.answer("a", State.FAILED)
    assert run.out() == ["inner_alert"]
    assert run.run("inner_alert").parent_id == run.run("seq").id
    run.answer("inner_alert")
    assert run.out() == ["inner_cleanup"]
    run.answer("inner_cleanup")
    assert run.state("seq") is State.FAILED
    assert run.out() == ["outer_alert"]
    run.answer("outer_alert")
    assert run.ex.state is State.FAILED


# -- allowFailure and allowWarning ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("allowed", "answered", "ends"),
    [
        ("allowFailure: true", State.FAILED, State.WARNING),
        ("allowWarning: true", State.WARNING, State.SUCCESS),
        ("allowFailure: true, allowWarning: true", State.FAILED, State.SUCCESS),
        ("allowWarning: true", State.FAILED, State.FAILED),
    ],
)
def test_allow_failure_and_allow_warning_lower_a_tasks_end(
    allowed: str, answered: State, ends: State
) -> None:
    run = Drive(f"tasks:\n  - {leaf('a', ', ' + allowed)}\n  - {leaf('b')}\n")
    run.start()
    run.answer("a", answered)
    assert run.state("a") is ends
    if ends is not State.FAILED:
        assert run.out() == ["b"]
        run.answer("b")
    assert run.ex.state is ends


def test_allow_failure_does_not_run_the_errors_branch() -> None:
    run = Drive(f"tasks:\n  - {leaf('a', ', allowFailure: true')}\nerrors:\n  - {leaf('alert')}\n")
    run.start()
    run.answer("a", State.FAILED)
    assert run.created() == ["a"]
    assert run.ex.state is State.WARNING


# -- pause and resume ----------------------------------------------------------------------------
def pause(extra: str = "") -> str:
    return f"tasks:\n  - id: wait\n    type: {FLOW}.Pause\n{extra}  - {leaf('after')}\n"


def test_a_pause_holds_the_execution_until_resumed_with_its_inputs() -> None:
    run = Drive(pause())
    effects = run.start()
    assert run.state("wait") is State.PAUSED
    assert run.ex.state is State.PAUSED
    assert run.pending == []
    assert effects.wake_at is None
    resumed: list[str] = []
    run.step(lambda s: resumed.extend(s.resume({"ok": True})))
    assert resumed == [run.run("wait").id]
    assert run.state("wait") is State.SUCCESS
    assert run.run("wait").outputs == {"onResume": {"ok": True}}
    assert run.ex.state is State.RUNNING
    assert run.out() == ["after"]


def test_resume_without_a_paused_task_resumes_nothing() -> None:
    run = Drive(f"tasks:\n  - {leaf('a')}\n")
    run.start()
    resumed: list[str] = []
    run.step(lambda s: resumed.extend(s.resume({})))
    assert resumed == []
    assert run.ex.state is State.RUNNING


def test_a_timed_pause_resumes_itself_when_its_duration_passes() -> None:
    run = Drive(pause("    pauseDuration: PT1H\n"))
    effects = run.start()
    assert effects.wake_at == run.run("wait").wake_at
    run.step()
    assert run.state("wait") is State.PAUSED
    run.age(timedelta(hours=1, seconds=1))
    run.step()
    assert run.state("wait") is State.SUCCESS
    assert run.out() == ["after"]


def test_a_timed_pause_ends_as_its_behavior_says() -> None:
    for behavior, state in [("FAIL", State.FAILED), ("WARN", State.WARNING),
                            ("CANCEL", State.CANCELLED)]:  # fmt: skip
        run = Drive(pause(f"    pauseDuration: PT1M\n    behavior: {behavior}\n"))
        run.start()
        run.age(timedelta(minutes=2))
        run.step()
        assert run.state("wait") is state, behavior


def test_a_pause_with_tasks_runs_them_once_resumed() -> None:
    run = Drive(pause(f"    tasks:\n      - {leaf('inside')}\n"))
    run.start()
    assert run.pending == []
    run.step(lambda s: s.resume({}))
    assert run.out() == ["inside"]
    run.answer("inside")
    assert run.state("wait") is State.SUCCESS


def test_killing_a_paused_execution_kills_the_pause() -> None:
    run = Drive(pause())
    run.start()
    run.step(lambda s: s.kill())
    assert run.kills == []
    assert run.state("wait") is State.KILLED
    assert run.ex.state is State.KILLED


# -- kill ----------------------------------------------------------------------------------------
def test_kill_stops_the_running_tasks_and_starts_no_new_one() -> None:
    run = Drive(
        f"tasks:\n  - id: par\n    type: {FLOW}.Parallel\n    tasks:\n"
        f"      - {leaf('a')}\n      - {leaf('b')}\n  - {leaf('after')}\n"
    )
    run.start()
    run.step(lambda s: s.kill())
    assert sorted(run.kills) == sorted(r.id for r in run.ex.task_runs if r.task_id in "ab")
    assert run.ex.state is State.KILLING
    run.answer("a", State.KILLED)
    assert run.ex.state is State.KILLING
    run.answer("b")
    assert run.created() == ["par", "a", "b"]
    assert run.ex.state is State.KILLED


def test_kill_of_an_ended_execution_changes_nothing() -> None:
    run = Drive(f"tasks:\n  - {leaf('a')}\n")
    run.start()
    run.answer("a")
    run.step(lambda s: s.kill())
    assert run.kills == []
    assert run.ex.state is State.SUCCESS


def test_exit_killed_stops_the_running_tasks() -> None:
    run = Drive(
        f"tasks:\n  - id: par\n    type: {FLOW}.Parallel\n    tasks:\n"
        f"      - {leaf('slow')}\n"
        "      - {id: leave, type: io.kestra.plugin.core.execution.Exit, state: KILLED}\n"
    )
    run.start()
    assert run.kills == [run.run("slow").id]
    run.answer("slow", State.KILLED)
    assert run.ex.state is State.KILLED


# -- restart -------------------------------------------------------------------------------------
def test_restart_runs_the_failed_task_again_and_drops_the_errors_branch() -> None:
    run = Drive(BRANCHES.replace(f"finally:\n  - {leaf('cleanup')}\n", ""))
    run.start()
    run.answer("a", State.FAILED)
    run.answer("alert")
    assert run.ex.state is State.FAILED
    done: list[bool] = []
    run.step(lambda s: done.append(s.restart()))
    assert done == [True]
    assert run.created() == ["a"]
    assert [(i.task.id, i.attempt) for i in run.pending] == [("a", 2)]
    assert run.ex.state is State.RUNNING
    assert State.RESTARTED in [t.state for t in run.ex.history]
    run.answer("a")
    assert run.ex.state is State.SUCCESS


def test_restart_keeps_the_tasks_that_succeeded() -> None:
    run = Drive(f"tasks:\n  - {leaf('a')}\n  - {leaf('b')}\n")
    run.start()
    run.answer("a")
    run.answer("b", State.FAILED)
    run.step(lambda s: s.restart())
    assert run.out() == ["b"]
    assert run.state("a") is State.SUCCESS


def test_restart_inside_a_flowable_resolves_the_flowable_again() -> None:
    run = Drive(
        f"tasks:\n  - id: seq\n    type: {FLOW}.Sequential\n    tasks:\n"
        f"      - {leaf('a')}\n      - {leaf('b')}\n"
    )
    run.start()
    run.answer("a")
    run.answer("b", State.FAILED)
    run.step(lambda s: s.restart())
    assert run.state("seq") is State.RUNNING
    run.answer("b")
    assert run.state("seq") is State.SUCCESS
    assert run.ex.state is State.SUCCESS


def test_a_successful_execution_cannot_be_restarted() -> None:
    run = Drive(f"tasks:\n  - {leaf('a')}\n")
    run.start()
    run.answer("a")
    done: list[bool] = []
    run.step(lambda s: done.append(s.restart()))
    assert done == [False]
    assert run.ex.state is State.SUCCESS


def test_a_killed_execution_can_be_restarted() -> None:
    run = Drive(f"tasks:\n  - {leaf('a')}\n")
    run.start()
    run.step(lambda s: s.kill())
    run.answer("a", State.KILLED)
    done: list[bool] = []
    run.step(lambda s: done.append(s.restart()))
    assert done == [True]
    assert run.out() == ["a"]


# -- SLA -----------------------------------------------------------------------------------------
def sla(behavior: str) -> str:
    return (
        "sla:\n  - id: quick\n    type: MAX_DURATION\n    duration: PT1H\n"
        f"    behavior: {behavior}\n    labels: {{sla: missed}}\n"
        f"tasks:\n  - {leaf('a')}\n  - {leaf('b')}\n"
    )


def test_the_next_wake_up_is_the_sla_deadline() -> None:
    run = Drive(sla("FAIL"))
    effects = run.start()
    assert effects.wake_at == run.ex.started + timedelta(hours=1)


def test_a_breached_fail_sla_kills_the_tasks_and_fails_the_execution() -> None:
    run = Drive(sla("FAIL"))
    run.start()
    run.age(timedelta(hours=1, seconds=1))
    run.step()
    assert run.kills == [run.run("a").id]
    assert run.ex.labels == {"sla": "missed"}
    assert any("SLA 'quick' breached" in message for message in run.logs())
    run.answer("a", State.KILLED)
    assert run.created() == ["a"]
    assert run.ex.state is State.FAILED


def test_a_breached_cancel_sla_cancels_the_execution() -> None:
    run = Drive(sla("CANCEL"))
    run.start()
    run.age(timedelta(hours=2))
    run.step()
    run.answer("a", State.KILLED)
    assert run.ex.state is State.CANCELLED


def test_a_breached_none_sla_only_logs_and_labels() -> None:
    run = Drive(sla("NONE"))
    run.start()
    run.age(timedelta(hours=2))
    run.step()
    assert run.kills == []
    assert run.ex.labels == {"sla": "missed"}
    run.answer("a")
    run.answer("b")
    assert run.ex.state is State.SUCCESS


def test_an_sla_not_yet_due_changes_nothing() -> None:
    run = Drive(sla("FAIL"))
    run.start()
    run.age(timedelta(minutes=59))
    run.step()
    assert run.kills == []
    assert run.ex.labels == {}


# -- subflows ------------------------------------------------------------------------------------
def subflow(extra: str = "") -> str:
    return (
        "inputs:\n  - {id: who, type: STRING}\n"
        f"tasks:\n  - id: call\n    type: {FLOW}.Subflow\n    namespace: company.team\n"
        "    flowId: '{{ inputs.who }}'\n    inputs: {n: 1}\n    labels: {own: x}\n"
        f"{extra}  - {leaf('after')}\n"
    )


def test_a_subflow_task_asks_for_its_child_with_rendered_properties() -> None:
    run = Drive(subflow("    inheritLabels: true\n"), inputs={"who": "child"}, labels={"team": "a"})
    effects = run.start()
    [start] = effects.subflows
    assert (start.parent_run_id, start.namespace, start.flow_id) == (
        run.run("call").id,
        "company.team",
        "child",
    )
    assert start.inputs == {"n": 1}
    assert start.labels == {"team": "a", "own": "x"}
    assert start.wait is True
    assert run.pending == []


def test_a_waiting_subflow_ends_with_its_child_and_keeps_its_outputs() -> None:
    run = Drive(subflow(), inputs={"who": "child"})
    run.start()
    call = run.run("call").id
    run.step(lambda s: s.apply_subflow_started(call, "c1", True))
    assert run.state("call") is State.RUNNING
    assert run.last is not None and run.last.waiting_subflows() == [(call, "c1")]
    run.step(lambda s: s.apply_subflow_ended(call, child(State.SUCCESS, {"result": 42})))
    assert run.state("call") is State.SUCCESS
    assert run.run("call").outputs == {
        "executionId": "c1",
        "state": "SUCCESS",
        "outputs": {"result": 42},
    }
    assert run.out() == ["after"]


def test_a_failed_child_fails_its_subflow_task_unless_told_not_to_transmit() -> None:
    run = Drive(subflow(), inputs={"who": "child"})
    run.start()
    call = run.run("call").id
    run.step(lambda s: s.apply_subflow_ended(call, child(State.FAILED, {"result": 42})))
    assert run.state("call") is State.FAILED
    assert run.ex.state is State.FAILED

    tolerant = Drive(subflow("    transmitFailed: false\n"), inputs={"who": "child"})
    tolerant.start()
    call = tolerant.run("call").id
    tolerant.step(lambda s: s.apply_subflow_ended(call, child(State.FAILED, {"result": 42})))
    assert tolerant.state("call") is State.SUCCESS
    assert tolerant.out() == ["after"]


def test_a_subflow_that_does_not_wait_succeeds_once_its_child_started() -> None:
    run = Drive(subflow("    wait: false\n"), inputs={"who": "child"})
    effects = run.start()
    assert effects.subflows[0].wait is False
    call = run.run("call").id
    run.step(lambda s: s.apply_subflow_started(call, "c1", False))
    assert run.state("call") is State.SUCCESS
    assert run.run("call").outputs == {"executionId": "c1"}
    assert run.out() == ["after"]


def test_a_child_that_cannot_start_fails_the_subflow_task_with_the_reason() -> None:
    run = Drive(subflow(), inputs={"who": "child"})
    run.start()
    call = run.run("call").id
    run.step(lambda s: s.apply_subflow_failed_to_start(call, "flow company.team.child not found"))
    assert run.state("call") is State.FAILED
    assert "flow company.team.child not found" in run.logs()


def test_after_a_restart_of_the_engine_a_subflow_not_started_is_asked_for_again() -> None:
    run = Drive(subflow(), inputs={"who": "child"})
    run.start()
    effects = run.step(lambda s: s.redispatch_unfinished())
    assert [start.parent_run_id for start in effects.subflows] == [run.run("call").id]
    call = run.run("call").id
    run.step(lambda s: s.apply_subflow_started(call, "c1", True))
    effects = run.step(lambda s: s.redispatch_unfinished())
    assert effects.subflows == []


def test_after_a_restart_of_the_engine_handed_out_attempts_go_out_again() -> None:
    run = Drive(f"tasks:\n  - {leaf('a')}\n")
    run.start()
    first = run.take("a")
    run.step(lambda s: s.redispatch_unfinished())
    [again] = run.pending
    assert (again.task_run_id, again.attempt) == (first.task_run_id, 1)


# -- concurrency limits --------------------------------------------------------------------------
def limited(behavior: str) -> str:
    return f"concurrency: {{limit: 1, behavior: {behavior}}}\ntasks:\n  - {leaf('a')}\n"


def test_under_its_concurrency_limit_an_execution_runs() -> None:
    run = Drive(limited("QUEUE"))
    run.step(lambda s: s.admit(lambda: 0))
    assert run.ex.state is State.RUNNING
    assert run.out() == ["a"]


def test_past_its_concurrency_limit_an_execution_is_queued_and_starts_nothing() -> None:
    run = Drive(limited("QUEUE"))
    effects = run.step(lambda s: s.admit(lambda: 1))
    assert run.ex.state is State.QUEUED
    assert run.created() == []
    assert effects.wake_at is None
    run.step()
    assert run.ex.state is State.QUEUED
    assert run.pending == []


def test_past_its_concurrency_limit_an_execution_is_cancelled_or_failed_as_told() -> None:
    for behavior, state in [("CANCEL", State.CANCELLED), ("FAIL", State.FAILED)]:
        run = Drive(limited(behavior))
        run.step(lambda s: s.admit(lambda: 3))
        assert run.ex.state is state, behavior
        assert run.created() == []


def test_without_a_limit_the_running_executions_are_never_counted() -> None:
    def count() -> int:
        raise AssertionError("counted without a limit")

    run = Drive(f"tasks:\n  - {leaf('a')}\n")
    run.step(lambda s: s.admit(count))
    assert run.out() == ["a"]


def test_only_a_new_execution_is_admitted() -> None:
    run = Drive(limited("CANCEL"))
    run.start()
    run.step(lambda s: s.admit(lambda: 5))
    assert run.ex.state is State.RUNNING
