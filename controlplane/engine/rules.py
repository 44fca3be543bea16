"""Which transitions happen: for each kind of change, an ordered list of small rules.

Code that wants an execution or a task run to change state proposes the new state; the policy
for that kind of change runs its rules in order. A rule applies only to the states it names
(``FROM`` the current one, ``TO`` the one proposed so far); one that applies either passes
(None) or answers a :class:`Decision`: another state to take instead (retry rather than fail,
warn rather than fail), the same state with a reason to note, or a refusal (no state) with its
reason. Later rules see the state earlier ones chose; a refusal ends the walk.

A refusal is a value. Only a command refused at the engine's door (kill, resume, restart)
becomes :class:`TransitionRefused`, which the API answers with 409.

The policies, in order:

- ``TASK_RUN_END`` (an attempt or a flowable ended): RetryFailedTask, WarnOnRetriedSuccess,
  AllowFailure, AllowWarning.
- ``EXECUTION_START`` (a new execution asks to run): LimitConcurrency.
- ``EXECUTION_END`` (an execution's tasks are done): EndAsStopped, SucceedWhenAllSkipped,
  FailOnUnrenderableOutputs, RetryAsNewExecution.
- ``COMMANDS`` (kill, resume, restart from a user): KillOnlyUnended, ResumeOnlyPaused,
  RestartOnlyFailedOrKilled.
- :func:`running_on` (an execution still runs at a given moment): one EnforceMaxDuration per
  MAX_DURATION SLA of the flow.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar, Generic, TypeVar

from controlplane.engine.model import TERMINAL, Execution, State, TaskRun
from controlplane.engine.retries import Retry, next_attempt_in, next_execution_in
from controlplane.errors import WeirError
from controlplane.spec.durations import format_duration
from controlplane.spec.flow import Concurrency, Flow, Sla
from controlplane.spec.plugins.flow import AllowFailure as AllowFailureTask
from controlplane.spec.tasks import TaskSpec

EVERY = frozenset(State)
UNENDED = EVERY - TERMINAL


@dataclass(frozen=True)
class Decision:
    """A rule's answer: the state to take (None: refused) and why."""

    state: State | None
    reason: str
    code: str = "refused"
    """For a refusal: the error code the API answers with."""
    wait: timedelta | None = None
    """For a retry: how long until the next attempt or execution."""
    end_state: State | None = None
    """For a stop: the state the execution ends in once its tasks stopped."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels the execution takes with this decision."""


@dataclass(frozen=True)
class Outcome:
    """A policy's verdict: the state to take (None: refused) and every decision on the way."""

    state: State | None
    decisions: tuple[Decision, ...] = ()

    @property
    def refusal(self) -> Decision | None:
        last = self.decisions[-1] if self.decisions else None
        return last if last is not None and last.state is None else None

    def wait(self) -> timedelta | None:
        return next((d.wait for d in reversed(self.decisions) if d.wait is not None), None)


C = TypeVar("C")


class Rule(ABC, Generic[C]):
    """One small decision; ``FROM`` and ``TO`` say which transitions it looks at."""

    FROM: ClassVar[frozenset[State]] = EVERY
    TO: ClassVar[frozenset[State]] = EVERY

    @abstractmethod
    def decide(self, current: State, proposed: State, context: C) -> Decision | None:
        """None to let the proposal pass, or this rule's decision on it."""


def apply(policy: Sequence[Rule[C]], current: State, proposed: State, context: C) -> Outcome:
    """Run ``policy``'s rules in order on the proposal to go from ``current`` to ``proposed``."""
    state = proposed
    decisions: list[Decision] = []
    for rule in policy:
        if current not in rule.FROM or state not in rule.TO:
            continue
        decision = rule.decide(current, state, context)
        if decision is None:
            continue
        decisions.append(decision)
        if decision.state is None:
            return Outcome(None, tuple(decisions))
        state = decision.state
    return Outcome(state, tuple(decisions))


# -- a task run ends ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskEnd:
    task: TaskSpec
    run: TaskRun
    execution_state: State
    retry: Retry | None = None
    """The retry policy of an attempt that ended; None when no attempt ended (flowables)."""


class RetryFailedTask(Rule[TaskEnd]):
    """A failed attempt is tried again in place while its retry policy allows, unless the
    execution is being killed or the policy retries by a new execution."""

    TO = frozenset({State.FAILED})

    def decide(self, current: State, proposed: State, context: TaskEnd) -> Decision | None:
        policy = context.retry
        if policy is None or policy.behavior == "CREATE_NEW_EXECUTION":
            return None
        if context.execution_state is State.KILLING:
            return None
        delay = next_attempt_in(policy, context.run)
        if delay is None:
            return None
        attempts = len(context.run.attempts)
        return Decision(State.RETRYING, f"attempt {attempts} failed; retrying", wait=delay)


class WarnOnRetriedSuccess(Rule[TaskEnd]):
    """A success that took more than one attempt is a WARNING when the policy says so."""

    TO = frozenset({State.SUCCESS})

    def decide(self, current: State, proposed: State, context: TaskEnd) -> Decision | None:
        policy = context.retry
        if policy is None or not policy.warningOnRetry or len(context.run.attempts) <= 1:
            return None
        return Decision(State.WARNING, "succeeded after a retry (warningOnRetry)")


class AllowFailure(Rule[TaskEnd]):
    """A task that may fail (``allowFailure``, or an AllowFailure container) warns instead."""

    TO = frozenset({State.FAILED})

    def decide(self, current: State, proposed: State, context: TaskEnd) -> Decision | None:
        task = context.task
        if not (task.allowFailure or isinstance(task, AllowFailureTask)):
            return None
        return Decision(State.WARNING, "failed, but the task allows failure")


class AllowWarning(Rule[TaskEnd]):
    """A task whose warnings are allowed (``allowWarning``) succeeds instead."""

    TO = frozenset({State.WARNING})

    def decide(self, current: State, proposed: State, context: TaskEnd) -> Decision | None:
        if not context.task.allowWarning:
            return None
        return Decision(State.SUCCESS, "warned, but the task allows warnings")


TASK_RUN_END: tuple[Rule[TaskEnd], ...] = (
    RetryFailedTask(),
    WarnOnRetriedSuccess(),
    AllowFailure(),
    AllowWarning(),
)


# -- a new execution asks to run ------------------------------------------------------------------
@dataclass(frozen=True)
class Admission:
    limit: Concurrency | None
    running: Callable[[], int]
    """How many executions of the flow run now (asked only when there is a limit)."""


class LimitConcurrency(Rule[Admission]):
    """Past the flow's concurrency limit a new execution is queued, cancelled or failed."""

    FROM = frozenset({State.CREATED})
    TO = frozenset({State.RUNNING})
    _TARGET: ClassVar[dict[str, State]] = {
        "QUEUE": State.QUEUED,
        "CANCEL": State.CANCELLED,
        "FAIL": State.FAILED,
    }

    def decide(self, current: State, proposed: State, context: Admission) -> Decision | None:
        limit = context.limit
        if limit is None:
            return None
        running = context.running()
        if running < limit.limit:
            return None
        return Decision(
            self._TARGET[limit.behavior],
            f"{running} executions of the flow run; its concurrency limit is {limit.limit}",
        )


EXECUTION_START: tuple[Rule[Admission], ...] = (LimitConcurrency(),)


# -- an execution's tasks are done ----------------------------------------------------------------
@dataclass(frozen=True)
class ExecutionEnd:
    execution: Execution
    stopping: bool
    """Killed, or ended by an Exit task: it ends in ``execution.end_state`` (default KILLED)."""
    render_outputs: Callable[[], bool]
    """Render the flow's outputs into the execution; False when they cannot be rendered."""
    has_outputs: bool
    retry: Retry | None
    """The CREATE_NEW_EXECUTION policy that applies, if any."""


class EndAsStopped(Rule[ExecutionEnd]):
    """A stopped execution ends as it was stopped: KILLED, or as its Exit task or SLA says."""

    def decide(self, current: State, proposed: State, context: ExecutionEnd) -> Decision | None:
        if not context.stopping:
            return None
        return Decision(context.execution.end_state or State.KILLED, "the execution was stopped")


class SucceedWhenAllSkipped(Rule[ExecutionEnd]):
    TO = frozenset({State.SKIPPED})

    def decide(self, current: State, proposed: State, context: ExecutionEnd) -> Decision | None:
        return Decision(State.SUCCESS, "every task was skipped")


class FailOnUnrenderableOutputs(Rule[ExecutionEnd]):
    """The flow's outputs are rendered when it succeeds; one that cannot be fails it."""

    TO = frozenset({State.SUCCESS, State.WARNING})

    def decide(self, current: State, proposed: State, context: ExecutionEnd) -> Decision | None:
        if not context.has_outputs or context.render_outputs():
            return None
        return Decision(State.FAILED, "a flow output cannot be rendered")


class RetryAsNewExecution(Rule[ExecutionEnd]):
    """A failed execution under a CREATE_NEW_EXECUTION policy that allows another try ends
    RETRIED; the next execution of the chain starts after the wait."""

    TO = frozenset({State.FAILED})

    def decide(self, current: State, proposed: State, context: ExecutionEnd) -> Decision | None:
        delay = next_execution_in(context.retry, context.execution)
        if delay is None:
            return None
        return Decision(State.RETRIED, "a new execution of the chain follows", wait=delay)


EXECUTION_END: tuple[Rule[ExecutionEnd], ...] = (
    EndAsStopped(),
    SucceedWhenAllSkipped(),
    FailOnUnrenderableOutputs(),
    RetryAsNewExecution(),
)


# -- a user's command -----------------------------------------------------------------------------
class KillOnlyUnended(Rule[Execution]):
    TO = frozenset({State.KILLING})

    def decide(self, current: State, proposed: State, context: Execution) -> Decision | None:
        if not current.terminal:
            return None
        return Decision(
            None,
            f"execution {context.id} already ended {current.value}; there is nothing to kill",
            code="execution_ended",
        )


class ResumeOnlyPaused(Rule[Execution]):
    TO = frozenset({State.RUNNING})

    def decide(self, current: State, proposed: State, context: Execution) -> Decision | None:
        if current is State.PAUSED:
            return None
        return Decision(
            None,
            f"execution {context.id} is {current.value}, not PAUSED; "
            "only a paused execution can be resumed",
            code="not_paused",
        )


class RestartOnlyFailedOrKilled(Rule[Execution]):
    TO = frozenset({State.RESTARTED})

    def decide(self, current: State, proposed: State, context: Execution) -> Decision | None:
        if current in (State.FAILED, State.KILLED):
            return None
        return Decision(
            None,
            f"execution {context.id} is {current.value}; only a FAILED or KILLED execution can "
            "be restarted",
            code="not_restartable",
        )


COMMANDS: tuple[Rule[Execution], ...] = (
    KillOnlyUnended(),
    ResumeOnlyPaused(),
    RestartOnlyFailedOrKilled(),
)
"""Kill proposes KILLING, resume RUNNING, restart RESTARTED."""


class TransitionRefused(WeirError):
    """A command the state of its execution refuses; ``code`` names the rule's reason."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.code = decision.code


def command(execution: Execution, proposed: State) -> Outcome:
    return apply(COMMANDS, execution.state, proposed, execution)


def require_command(execution: Execution, proposed: State) -> None:
    """Raise TransitionRefused when the execution's state refuses the command."""
    refusal = command(execution, proposed).refusal
    if refusal is not None:
        raise TransitionRefused(refusal)


# -- an execution runs on -------------------------------------------------------------------------
@dataclass(frozen=True)
class RunningOn:
    execution: Execution
    moment: datetime


class EnforceMaxDuration(Rule[RunningOn]):
    """Past a MAX_DURATION SLA the execution stops, to end FAILED or CANCELLED; with behaviour
    NONE the breach is only noted (and labelled)."""

    FROM = UNENDED - {State.KILLING}
    TO = UNENDED - {State.KILLING}

    def __init__(self, sla: Sla, duration: timedelta) -> None:
        self.sla = sla
        self.duration = duration

    def decide(self, current: State, proposed: State, context: RunningOn) -> Decision | None:
        if context.moment < context.execution.started + self.duration:
            return None
        reason = (
            f"SLA '{self.sla.id}' breached: the execution ran longer than "
            f"{format_duration(self.duration)}"
        )
        if self.sla.behavior == "NONE":
            return Decision(proposed, reason, labels=self.sla.labels)
        end = State.FAILED if self.sla.behavior == "FAIL" else State.CANCELLED
        return Decision(State.KILLING, reason, end_state=end, labels=self.sla.labels)


def max_durations(flow: Flow) -> list[EnforceMaxDuration]:
    return [
        EnforceMaxDuration(sla, sla.duration)
        for sla in flow.sla
        if sla.type == "MAX_DURATION" and sla.duration is not None
    ]


def running_on(flow: Flow, execution: Execution, moment: datetime) -> Outcome:
    """The flow's SLAs on an execution still running at ``moment``."""
    context = RunningOn(execution, moment)
    return apply(max_durations(flow), execution.state, execution.state, context)


def sla_deadline(flow: Flow, execution: Execution) -> datetime | None:
    """When the first SLA of a running execution comes due."""
    if execution.state.terminal:
        return None
    deadlines = [execution.started + rule.duration for rule in max_durations(flow)]
    return min(deadlines, default=None)
