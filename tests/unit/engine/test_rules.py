"""The transition rules, one proposal at a time: which state a proposal ends in, and why."""

from __future__ import annotations

from datetime import timedelta

import pytest

from controlplane.engine import rules
from controlplane.engine.model import Attempt, Execution, State, TaskRun, now
from controlplane.engine.retries import Retry
from controlplane.spec.flow import Flow
from controlplane.spec.tasks import TaskSpec
from controlplane.spec.validate import validate_text

HEAD = "id: f\nnamespace: company.team\n"
RETURN = "io.kestra.plugin.core.debug.Return"


def flow(text: str) -> Flow:
    result = validate_text(HEAD + text)
    assert result.ok and result.flow is not None, [str(p) for p in result.problems]
    return result.flow


def task(properties: str = "") -> TaskSpec:
    return flow(f"tasks:\n  - id: a\n    type: {RETURN}\n    format: x\n{properties}").tasks[0]


def retry(policy: str) -> Retry:
    spec = task(f"    retry: {policy}\n")
    assert spec.retry is not None
    return spec.retry


def run_after(*attempts: State) -> TaskRun:
    run = TaskRun(id="r", task_id="a", state=State.RUNNING)
    run.attempts = [Attempt(state, now(), now()) for state in attempts]
    return run


def execution(state: State = State.RUNNING) -> Execution:
    return Execution(id="e1", namespace="company.team", flow_id="f", flow_revision=1, state=state)


def end_task(
    proposed: State,
    spec: TaskSpec,
    run: TaskRun,
    policy: Retry | None = None,
    execution_state: State = State.RUNNING,
) -> rules.Outcome:
    context = rules.TaskEnd(spec, run, execution_state, policy)
    return rules.apply(rules.TASK_RUN_END, run.state, proposed, context)


# -- a task run ends ------------------------------------------------------------------------------
def test_a_failed_attempt_is_retried_while_its_policy_allows() -> None:
    policy = retry("{type: constant, interval: PT1M, maxAttempts: 2}")
    outcome = end_task(State.FAILED, task(), run_after(State.FAILED), policy)
    assert (outcome.state, outcome.wait()) == (State.RETRYING, timedelta(minutes=1))
    spent = end_task(State.FAILED, task(), run_after(State.FAILED, State.FAILED), policy)
    assert (spent.state, spent.wait()) == (State.FAILED, None)


def test_no_retry_while_killing_or_when_the_policy_makes_a_new_execution() -> None:
    policy = retry("{type: constant, interval: PT1M, maxAttempts: 5}")
    killing = end_task(State.FAILED, task(), run_after(State.FAILED), policy, State.KILLING)
    assert killing.state is State.FAILED
    chain = retry(
        "{type: constant, interval: PT1M, maxAttempts: 5, behavior: CREATE_NEW_EXECUTION}"
    )
    assert end_task(State.FAILED, task(), run_after(State.FAILED), chain).state is State.FAILED


def test_a_retry_comes_before_allow_failure() -> None:
    policy = retry("{type: constant, interval: PT1M, maxAttempts: 2}")
    lenient = task("    allowFailure: true\n")
    assert end_task(State.FAILED, lenient, run_after(State.FAILED), policy).state is (
        State.RETRYING
    )
    last = end_task(State.FAILED, lenient, run_after(State.FAILED, State.FAILED), policy)
    assert last.state is State.WARNING


def test_a_success_after_a_retry_warns_when_the_policy_says_so() -> None:
    warns = retry("{type: constant, interval: PT1S, maxAttempts: 3, warningOnRetry: true}")
    assert end_task(State.SUCCESS, task(), run_after(State.FAILED, State.SUCCESS), warns).state is (
        State.WARNING
    )
    assert end_task(State.SUCCESS, task(), run_after(State.SUCCESS), warns).state is State.SUCCESS
    quiet = retry("{type: constant, interval: PT1S, maxAttempts: 3}")
    assert end_task(State.SUCCESS, task(), run_after(State.FAILED, State.SUCCESS), quiet).state is (
        State.SUCCESS
    )


def test_allow_failure_warns_and_allow_warning_then_succeeds() -> None:
    assert end_task(State.FAILED, task("    allowFailure: true\n"), run_after()).state is (
        State.WARNING
    )
    both = task("    allowFailure: true\n    allowWarning: true\n")
    outcome = end_task(State.FAILED, both, run_after())
    assert outcome.state is State.SUCCESS
    assert [d.state for d in outcome.decisions] == [State.WARNING, State.SUCCESS]
    assert end_task(State.FAILED, task(), run_after()).state is State.FAILED


# -- a new execution asks to run ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("behavior", "target"),
    [("QUEUE", State.QUEUED), ("CANCEL", State.CANCELLED), ("FAIL", State.FAILED)],
)
def test_past_the_concurrency_limit_a_new_execution_does_not_run(
    behavior: str, target: State
) -> None:
    spec = flow(
        f"concurrency: {{limit: 2, behavior: {behavior}}}\n"
        f"tasks:\n  - {{id: a, type: {RETURN}, format: x}}\n"
    )

    def admit(running: int, state: State = State.CREATED) -> State | None:
        admission = rules.Admission(spec.concurrency, lambda: running)
        return rules.apply(rules.EXECUTION_START, state, State.RUNNING, admission).state

    assert admit(1) is State.RUNNING
    assert admit(2) is target
    assert admit(5, State.QUEUED) is State.RUNNING  # a queued one is let go by its dequeue


def test_without_a_limit_the_running_executions_are_not_counted() -> None:
    def never() -> int:
        raise AssertionError("counted")

    admission = rules.Admission(None, never)
    assert rules.apply(rules.EXECUTION_START, State.CREATED, State.RUNNING, admission).state is (
        State.RUNNING
    )


# -- an execution's tasks are done ----------------------------------------------------------------
def end_execution(
    proposed: State,
    ex: Execution,
    stopping: bool = False,
    renders: bool | None = None,
    policy: Retry | None = None,
) -> rules.Outcome:
    """``renders``: whether the flow's outputs render (None: the flow has none)."""

    def render() -> bool:
        assert renders is not None, "a flow without outputs rendered them"
        RENDERED.append(ex.id)
        return renders

    context = rules.ExecutionEnd(ex, stopping, render, renders is not None, policy)
    return rules.apply(rules.EXECUTION_END, ex.state, proposed, context)


RENDERED: list[str] = []


def test_a_stopped_execution_ends_as_it_was_stopped() -> None:
    assert end_execution(State.SUCCESS, execution(State.KILLING), stopping=True).state is (
        State.KILLED
    )
    exited = execution()
    exited.end_state = State.WARNING
    assert end_execution(State.FAILED, exited, stopping=True).state is State.WARNING


def test_an_execution_whose_tasks_were_all_skipped_succeeds() -> None:
    assert end_execution(State.SKIPPED, execution()).state is State.SUCCESS


def test_outputs_that_do_not_render_fail_a_success_and_are_not_rendered_on_failure() -> None:
    RENDERED.clear()
    assert end_execution(State.SUCCESS, execution(), renders=True).state is State.SUCCESS
    assert end_execution(State.WARNING, execution(), renders=False).state is State.FAILED
    assert len(RENDERED) == 2
    assert end_execution(State.FAILED, execution(), renders=True).state is State.FAILED
    assert len(RENDERED) == 2


def test_a_failed_execution_is_retried_as_a_new_one_while_the_chain_allows() -> None:
    chain = retry(
        "{type: constant, interval: PT5M, maxAttempts: 2, behavior: CREATE_NEW_EXECUTION}"
    )
    first = end_execution(State.FAILED, execution(), policy=chain)
    assert (first.state, first.wait()) == (State.RETRIED, timedelta(minutes=5))
    second = execution()
    second.attempt = 2
    assert end_execution(State.FAILED, second, policy=chain).state is State.FAILED
    assert end_execution(State.SUCCESS, execution(), policy=chain).state is State.SUCCESS
    # Outputs that fail the execution fail it like a task would: the chain retries it too.
    assert end_execution(State.SUCCESS, execution(), False, False, chain).state is State.RETRIED


# -- a user's command -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("state", "proposed", "code", "message"),
    [
        (State.SUCCESS, State.KILLING, "execution_ended",
         "execution e1 already ended SUCCESS; there is nothing to kill"),
        (State.RUNNING, State.RUNNING, "not_paused",
         "execution e1 is RUNNING, not PAUSED; only a paused execution can be resumed"),
        (State.SUCCESS, State.RESTARTED, "not_restartable",
         "execution e1 is SUCCESS; only a FAILED or KILLED execution can be restarted"),
    ],
)  # fmt: skip
def test_a_command_the_state_refuses_is_refused_with_its_reason(
    state: State, proposed: State, code: str, message: str
) -> None:
    outcome = rules.command(execution(state), proposed)
    assert outcome.state is None
    assert outcome.refusal is not None
    assert (outcome.refusal.code, outcome.refusal.reason) == (code, message)
    with pytest.raises(rules.TransitionRefused) as refused:
        rules.require_command(execution(state), proposed)
    assert (refused.value.code, refused.value.message) == (code, message)


@pytest.mark.parametrize(
    ("state", "proposed"),
    [
        (State.RUNNING, State.KILLING),
        (State.PAUSED, State.KILLING),
        (State.KILLING, State.KILLING),
        (State.PAUSED, State.RUNNING),
        (State.FAILED, State.RESTARTED),
        (State.KILLED, State.RESTARTED),
    ],
)
def test_a_command_the_state_allows_passes(state: State, proposed: State) -> None:
    outcome = rules.command(execution(state), proposed)
    assert (outcome.state, outcome.refusal) == (proposed, None)
    rules.require_command(execution(state), proposed)


# -- an execution runs on -------------------------------------------------------------------------
SLAS = (
    "sla:\n"
    "  - {id: note, type: MAX_DURATION, duration: PT1M, behavior: NONE, labels: {slow: 'yes'}}\n"
    "  - {id: stop, type: MAX_DURATION, duration: PT2M, behavior: CANCEL}\n"
    "  - {id: late, type: MAX_DURATION, duration: PT3M, behavior: FAIL}\n"
    f"tasks:\n  - {{id: a, type: {RETURN}, format: x}}\n"
)


def test_slas_note_or_stop_an_execution_past_their_duration() -> None:
    spec = flow(SLAS)
    ex = execution()
    start = ex.started
    assert rules.running_on(spec, ex, start + timedelta(seconds=30)).decisions == ()
    noted = rules.running_on(spec, ex, start + timedelta(seconds=90))
    assert noted.state is State.RUNNING
    [note] = noted.decisions
    assert note.reason == "SLA 'note' breached: the execution ran longer than PT1M"
    assert dict(note.labels) == {"slow": "yes"}
    stopped = rules.running_on(spec, ex, start + timedelta(minutes=10))
    assert stopped.state is State.KILLING
    # The first SLA that stops decides how it ends; the later one is not looked at.
    assert [(d.state, d.end_state) for d in stopped.decisions] == [
        (State.RUNNING, None), (State.KILLING, State.CANCELLED),
    ]  # fmt: skip
    assert rules.sla_deadline(spec, ex) == start + timedelta(minutes=1)


def test_slas_leave_a_stopping_or_ended_execution_alone() -> None:
    spec = flow(SLAS)
    for state in (State.KILLING, State.FAILED):
        ex = execution(state)
        assert rules.running_on(spec, ex, ex.started + timedelta(hours=1)).decisions == ()
    assert rules.sla_deadline(spec, execution(State.SUCCESS)) is None
