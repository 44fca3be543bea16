"""Driving the executor's decisions by hand, without threads, a store or a worker.

A :class:`Drive` holds one execution of one flow. Each :meth:`Drive.step` builds the decision
step from the execution as it stands, applies what happened (attempt results, a child that
ended, a resume, a kill), advances it and keeps the attempts it handed out in ``pending``, so a
test answers them one by one and checks the decisions that follow. Time passes by
:meth:`Drive.age`, which moves every recorded time of the execution into the past: a retry delay,
a pause or an SLA comes due without the test waiting for the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from controlplane.engine.executor import Effects, Step, StepEnv
from controlplane.engine.model import Execution, State, TaskRun, now
from controlplane.engine.work import AttemptResult, WorkItem
from controlplane.expr import Renderer
from controlplane.spec.flow import Flow
from controlplane.spec.validate import validate_text

HEAD = "id: f\nnamespace: company.team\n"
RETURN = "io.kestra.plugin.core.debug.Return"
FLOW = "io.kestra.plugin.core.flow"
WORK_ROOT = Path("/nonexistent/weir-work")
"""Where working directories would live: the step only names paths, it creates none."""

Event = Callable[[Step], Any]


def flow(text: str) -> Flow:
    """A flow from the YAML after its id and namespace; it must validate."""
    result = validate_text(HEAD + text)
    assert result.ok and result.flow is not None, [str(p) for p in result.problems]
    return result.flow


def leaf(task_id: str, extra: str = "") -> str:
    """A runnable task in flow style (``extra`` adds properties: ``", allowFailure: true"``)."""
    return f"{{id: {task_id}, type: {RETURN}, format: x{extra}}}"


def child(state: State, outputs: dict[str, Any] | None = None) -> Execution:
    """A child execution (of a Subflow task) that ended in ``state``."""
    ended = Execution(id="c1", namespace="company.team", flow_id="child", flow_revision=1)
    ended.transition(state)
    ended.outputs = outputs
    return ended


def result(
    item: WorkItem,
    state: State = State.SUCCESS,
    outputs: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AttemptResult:
    moment = at or now()
    return AttemptResult(item.task_run_id, item.attempt, state, moment, moment, outputs or {})


class Drive:
    """One execution of ``text``'s flow, advanced step by step."""

    def __init__(
        self,
        text: str,
        inputs: dict[str, Any] | None = None,
        labels: dict[str, str] | None = None,
    ) -> None:
        self.flow = flow(text)
        self.ex = Execution(
            id="e1",
            namespace=self.flow.namespace,
            flow_id=self.flow.id,
            flow_revision=1,
            inputs=dict(inputs or {}),
            labels=dict(labels or {}),
        )
        self.env = StepEnv(Renderer(), WORK_ROOT)
        self.pending: list[WorkItem] = []
        """Attempts handed out and not answered yet, in the order they went out."""
        self.effects = Effects()
        self.kills: list[str] = []
        """Task runs the last step asked a worker to stop."""
        self.last: Step | None = None

    # -- stepping -----------------------------------------------------------------------------
    def step(self, *events: Event) -> Effects:
        """One decision step: apply ``events`` to a fresh step, then advance it."""
        step = Step(self.ex, self.flow, self.env)
        kills: list[str] = []
        for event in events:
            answer = event(step)
            if isinstance(answer, list):
                kills += answer
        self.effects = step.advance()
        self.kills = kills + step.kills
        self.pending += self.effects.dispatch
        self.last = step
        return self.effects

    def start(self) -> Effects:
        return self.step()

    def answer(
        self,
        task_id: str,
        state: State = State.SUCCESS,
        outputs: dict[str, Any] | None = None,
        value: str | None = None,
    ) -> Effects:
        """Answer the oldest pending attempt of ``task_id`` (for loop ``value``) and step."""
        item = self.take(task_id, value)
        return self.step(lambda s: s.apply_result(result(item, state, outputs)))

    def take(self, task_id: str, value: str | None = None) -> WorkItem:
        """Remove and return the oldest pending attempt of ``task_id`` (for loop ``value``)."""
        for item in self.pending:
            if item.task.id == task_id and (value is None or self.run_of(item).value == value):
                self.pending.remove(item)
                return item
        raise AssertionError(f"no pending attempt of {task_id!r} (value {value!r}): {self.out()}")

    def finish_all(self, outcome: Callable[[WorkItem], State] = lambda item: State.SUCCESS) -> None:
        """Answer every attempt as it goes out, until nothing is left to answer."""
        for _ in range(500):
            if not self.pending:
                if self.effects.wake_at is None or self.ex.state.terminal:
                    return
                self.age(self.effects.wake_at - now() + timedelta(seconds=1))
                self.step()
                continue
            item = self.pending.pop(0)
            self.step(lambda s, item=item: s.apply_result(result(item, outcome(item))))
        raise AssertionError(f"the execution never settled: {self.states()}")

    def age(self, delta: timedelta) -> None:
        """Let ``delta`` pass: every time the execution recorded moves that far back."""
        _shift(self.ex, -delta)

    # -- looking ------------------------------------------------------------------------------
    def out(self) -> list[str]:
        """Ids of the tasks whose attempts are pending, in order."""
        return [item.task.id for item in self.pending]

    def out_values(self) -> list[tuple[str, str | None]]:
        return [(item.task.id, self.run_of(item).value) for item in self.pending]

    def run_of(self, item: WorkItem) -> TaskRun:
        return self.ex.task_run(item.task_run_id)

    def run(self, task_id: str, value: str | None = None) -> TaskRun:
        found = [r for r in self.ex.task_runs if r.task_id == task_id and r.value == value]
        assert len(found) == 1, f"{len(found)} runs of {task_id!r} (value {value!r})"
        return found[0]

    def runs(self, task_id: str) -> list[TaskRun]:
        return [r for r in self.ex.task_runs if r.task_id == task_id]

    def state(self, task_id: str, value: str | None = None) -> State:
        return self.run(task_id, value).state

    def states(self) -> dict[str, State]:
        """The state of each task's run, for tasks that ran once."""
        return {r.task_id: r.state for r in self.ex.task_runs if r.value is None}

    def created(self) -> list[str]:
        return [r.task_id for r in self.ex.task_runs]

    def logs(self) -> list[str]:
        return [entry.message for entry in self.effects.logs]


def _shift(execution: Execution, delta: timedelta) -> None:
    for record in [execution, *execution.task_runs]:
        record.history = [replace(t, at=t.at + delta) for t in record.history]
    if execution.scheduled is not None:
        execution.scheduled += delta
    if execution.chain_started is not None:
        execution.chain_started += delta
    for run in execution.task_runs:
        if run.wake_at is not None:
            run.wake_at += delta
        run.attempts = [
            replace(a, started=a.started + delta, ended=a.ended + delta if a.ended else None)
            for a in run.attempts
        ]


def ids(items: Iterable[WorkItem]) -> list[str]:
    return [item.task.id for item in items]
