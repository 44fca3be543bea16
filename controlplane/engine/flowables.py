"""How each flowable task resolves: which children start, and its state from theirs.

A resolver ``(step, task, run) -> State | None`` returns the state of the children when they are
all done, or None while they run; the step then applies the task's error and finally branches
and allowFailure. A starter runs once when the flowable's task run is created (rendering its
condition or values once); a waker runs when the run's ``wake_at`` comes (timed pause, loop
interval).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from controlplane.engine.effects import Effects, SubflowStart
from controlplane.engine.model import Execution, State, TaskRun, now
from controlplane.engine.outcome import STOPPED, aggregate
from controlplane.engine.ports import LogLevel
from controlplane.expr import ExpressionError, is_truthy
from controlplane.spec.durations import parse_duration
from controlplane.spec.plugins.flow import (
    AllowFailure,
    Dag,
    EachParallel,
    EachSequential,
    ForEach,
    If,
    LoopUntil,
    Parallel,
    Pause,
    Sequential,
    Subflow,
    Switch,
    WorkingDirectory,
)
from controlplane.spec.plugins.foreachitem import ForEachItem
from controlplane.spec.plugins.loop import Loop
from controlplane.spec.tasks import TaskSpec


class Step(Protocol):
    """What a resolver asks of the decision step (``executor.Step`` is the one there is)."""

    ex: Execution
    effects: Effects

    def find(self, task: TaskSpec, parent: TaskRun | None, value: str | None) -> TaskRun | None:
        """The run of ``task`` under ``parent`` for ``value``, when it was created."""

    def create(
        self,
        task: TaskSpec,
        parent: TaskRun | None,
        value: str | None,
        iteration: int | None = None,
    ) -> TaskRun:
        """A new run of ``task``, started (dispatched, or resolved when flowable)."""

    def resolve_run(self, task: TaskSpec, run: TaskRun) -> None:
        """Bring a flowable run up to date with its children."""

    def resolve_list(
        self,
        tasks: Iterable[TaskSpec],
        parent: TaskRun | None,
        value: str | None,
        iteration: int | None = None,
    ) -> State | None:
        """Run ``tasks`` one after the other; the state of the list, or None while it runs."""

    def stopping(self) -> bool:
        """No new task starts (a kill, an Exit task)."""

    def render(self, value: Any, task: TaskSpec, run: TaskRun, typed: bool = False) -> Any: ...

    def log(self, run: TaskRun | None, level: LogLevel, message: str) -> None: ...

    def finish(
        self, task: TaskSpec, run: TaskRun, state: State, at: datetime | None = None
    ) -> None:
        """End ``run`` in ``state``, as the transition rules decide."""

    def touch(self, run: TaskRun) -> None:
        """Mark ``run`` changed, to be persisted."""


Resolver = Callable[[Step, Any, TaskRun], State | None]
Hook = Callable[[Step, Any, TaskRun], None]


# -- containers --------------------------------------------------------------------------------
def sequential(
    step: Step, task: Sequential | WorkingDirectory | AllowFailure, run: TaskRun
) -> State | None:
    return step.resolve_list(task.tasks, run, run.value)


def parallel(step: Step, task: Parallel, run: TaskRun) -> State | None:
    return _parallel(step, [t for t in task.tasks if not t.disabled], run, task.concurrent)


def _parallel(step: Step, tasks: list[TaskSpec], run: TaskRun, limit: int) -> State | None:
    states: list[State] = []
    active = 0
    waiting = False
    failed = False
    for child in tasks:
        child_run = step.find(child, run, run.value)
        if child_run is None:
            if failed or step.stopping() or (limit and active >= limit):
                waiting = waiting or not failed
                continue
            child_run = step.create(child, run, run.value)
        if not child_run.state.terminal:
            step.resolve_run(child, child_run)
        if child_run.state.terminal:
            states.append(child_run.state)
            failed = failed or child_run.state in STOPPED
        else:
            active += 1
    if active or (waiting and not failed and not step.stopping()):
        return None
    if step.stopping() and len(states) < len(tasks):
        states.append(step.ex.end_state or State.KILLED)
    return aggregate(states)


# -- branches ----------------------------------------------------------------------------------
def start_if(step: Step, task: If, run: TaskRun) -> None:
    try:
        result = is_truthy(step.render(task.condition, task, run, typed=True))
    except ExpressionError as exc:
        step.log(run, "ERROR", f"condition of '{task.id}' cannot be rendered: {exc}")
        step.finish(task, run, State.FAILED)
        return
    run.outputs = {"evaluationResult": result}


def if_(step: Step, task: If, run: TaskRun) -> State | None:
    branch = task.then if run.outputs.get("evaluationResult") else task.else_
    return step.resolve_list(branch, run, run.value)


def start_switch(step: Step, task: Switch, run: TaskRun) -> None:
    try:
        value = str(step.render(task.value, task, run))
    except ExpressionError as exc:
        step.log(run, "ERROR", f"value of '{task.id}' cannot be rendered: {exc}")
        step.finish(task, run, State.FAILED)
        return
    matched = value in task.cases
    run.outputs = {"value": value, "defaults": not matched}
    if not matched and not task.defaults:
        step.log(run, "ERROR", f"no case of '{task.id}' matches '{value}' and it has no defaults")
        step.finish(task, run, State.FAILED)


def switch(step: Step, task: Switch, run: TaskRun) -> State | None:
    value = run.outputs.get("value", "")
    branch = task.cases.get(value, task.defaults)
    return step.resolve_list(branch, run, run.value)


# -- loops -------------------------------------------------------------------------------------
def _loop_values(step: Step, raw: Any, task: TaskSpec, run: TaskRun) -> list[str] | None:
    """Render a loop's values: a list, a JSON array string, or an expression giving either."""
    try:
        values = step.render(raw, task, run, typed=True)
        if isinstance(values, str):
            values = json.loads(values) if values.strip() else []
    except (ExpressionError, json.JSONDecodeError) as exc:
        step.log(run, "ERROR", f"values of '{task.id}' cannot be read as a list: {exc}")
        return None
    if isinstance(values, dict):
        values = [{"key": k, "value": v} for k, v in values.items()]
    if not isinstance(values, list):
        step.log(run, "ERROR", f"values of '{task.id}' must be a list, got {type(values).__name__}")
        return None
    nulls = sum(1 for v in values if v is None)
    if nulls:
        shown = ", ".join(_java_text(v) for v in values)
        step.log(run, "ERROR", f"Found '{nulls}' null values on Each, with values=[{shown}]")
        return None
    return [v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for v in values]


def _java_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def _start_loop(step: Step, task: Any, run: TaskRun, raw: Any) -> None:
    items = _loop_values(step, raw, task, run)
    if items is None:
        step.finish(task, run, State.FAILED)
        return
    run.items = items


def start_for_each(step: Step, task: ForEach, run: TaskRun) -> None:
    _start_loop(step, task, run, task.values)


def start_each(step: Step, task: EachSequential | EachParallel, run: TaskRun) -> None:
    _start_loop(step, task, run, task.value)


def _iterations(step: Step, task: Any, run: TaskRun, limit: int) -> State | None:
    """Each value runs the task list in order; up to ``limit`` values at once (0: all)."""
    children = [t for t in task.tasks if not t.disabled]
    states: list[State] = []
    active = 0
    failed = False
    for index, value in enumerate(run.items or []):
        started = any(step.find(child, run, value) for child in children)
        if not started and (failed or (limit and active >= limit)):
            continue
        if not started and step.stopping():
            continue
        state = step.resolve_list(children, run, value, index)
        if state is None:
            active += 1
            continue
        states.append(state)
        failed = failed or state in STOPPED
    if active:
        return None
    if not failed and len(states) < len(run.items or []) and not step.stopping():
        return None
    if step.stopping() and len(states) < len(run.items or []):
        states.append(step.ex.end_state or State.KILLED)
    return aggregate(states)


def for_each(step: Step, task: ForEach, run: TaskRun) -> State | None:
    return _iterations(step, task, run, task.concurrencyLimit)


def each_sequential(step: Step, task: EachSequential, run: TaskRun) -> State | None:
    return _iterations(step, task, run, 1)


def each_parallel(step: Step, task: EachParallel, run: TaskRun) -> State | None:
    return _iterations(step, task, run, task.concurrent)


# -- graph -------------------------------------------------------------------------------------
def dag(step: Step, task: Dag, run: TaskRun) -> State | None:
    runs = {item.task.id: step.find(item.task, run, run.value) for item in task.tasks}
    states: list[State] = []
    active = sum(1 for r in runs.values() if r is not None and not r.state.terminal)
    pending = False
    for item in task.tasks:
        child = item.task
        child_run = runs[child.id]
        if child_run is None:
            deps = [runs.get(dep) for dep in item.dependsOn]
            if any(d is None or not d.state.terminal for d in deps):
                pending = True
                continue
            if any(d is not None and d.state in STOPPED for d in deps):
                continue
            if step.stopping() or (task.concurrent and active >= task.concurrent):
                pending = True
                continue
            child_run = step.create(child, run, run.value)
            runs[child.id] = child_run
            active += 1
        if not child_run.state.terminal:
            step.resolve_run(child, child_run)
        if child_run.state.terminal:
            states.append(child_run.state)
    unfinished = any(r is not None and not r.state.terminal for r in runs.values())
    blocked = any(s in STOPPED for s in states)
    if unfinished or (pending and not blocked and not step.stopping()):
        return None
    return aggregate(states)


# -- waiting -----------------------------------------------------------------------------------
def start_pause(step: Step, task: Pause, run: TaskRun) -> None:
    run.transition(State.PAUSED)
    wait = _pause_wait(step, task, run)
    if wait is not None:
        run.wake_at = now() + wait


def _pause_wait(step: Step, task: Pause, run: TaskRun) -> timedelta | None:
    raw = task.pauseDuration if task.pauseDuration is not None else task.timeout
    try:
        return _duration(step, raw, task, run)
    except (ExpressionError, ValueError) as exc:
        step.log(run, "ERROR", f"pause duration of '{task.id}' is invalid: {exc}")
        return timedelta(0)


def wake_pause(step: Step, task: Pause, run: TaskRun) -> None:
    """The pause's time is up: resume, or end it as its behaviour (or an old timeout) says."""
    if run.state is not State.PAUSED:
        return
    run.wake_at = None
    run.transition(State.RUNNING)
    step.touch(run)
    timed_out = task.pauseDuration is None and task.timeout is not None
    behaviour = "FAIL" if timed_out else task.behavior
    if behaviour != "RESUME":
        outcome = {"FAIL": State.FAILED, "WARN": State.WARNING, "CANCEL": State.CANCELLED}
        step.finish(task, run, outcome[behaviour])


def pause(step: Step, task: Pause, run: TaskRun) -> State | None:
    if run.state is State.PAUSED:
        return None
    if task.tasks:
        return step.resolve_list(task.tasks, run, run.value)
    return State.SUCCESS


def start_loop_until(step: Step, task: LoopUntil, run: TaskRun) -> None:
    run.outputs = {"iterationCount": 0}


def loop_until(step: Step, task: LoopUntil, run: TaskRun) -> State | None:
    if run.wake_at is not None:
        return None
    count = int(run.outputs.get("iterationCount", 0))
    if count == 0:
        count = 1
        run.outputs = {"iterationCount": count}
    value = str(count - 1)
    state = step.resolve_list(task.tasks, run, value, count - 1)
    if state is None:
        return None
    if state in STOPPED:
        return state
    try:
        done = is_truthy(step.render(task.condition, task, run, typed=True))
    except ExpressionError as exc:
        step.log(run, "ERROR", f"condition of '{task.id}' cannot be rendered: {exc}")
        return State.FAILED
    if done:
        return State.SUCCESS
    frequency = task.checkFrequency
    limit = _int(step, frequency.maxIterations, task, run)
    max_duration = _duration(step, frequency.maxDuration, task, run)
    if (limit is not None and count >= limit) or (
        max_duration is not None and now() - run.started >= max_duration
    ):
        step.log(run, "WARN" if not task.failOnMaxReached else "ERROR", "maximum reached")
        return State.FAILED if task.failOnMaxReached else State.SUCCESS
    interval = _duration(step, frequency.interval, task, run) or _default_interval(task)
    run.outputs = {"iterationCount": count + 1}
    run.wake_at = now() + interval
    step.touch(run)
    return None


def _default_interval(task: LoopUntil) -> timedelta:
    # Kestra 0.23 renamed WaitFor to LoopUntil and raised the default interval from 1 s to 1 min.
    return timedelta(seconds=1) if task.written_type.endswith(".WaitFor") else timedelta(minutes=1)


def wake_loop_until(step: Step, task: LoopUntil, run: TaskRun) -> None:
    run.wake_at = None
    step.touch(run)


def _int(step: Step, raw: Any, task: TaskSpec, run: TaskRun) -> int | None:
    if raw is None:
        return None
    return int(raw if isinstance(raw, int) else step.render(raw, task, run))


def _duration(step: Step, raw: Any, task: TaskSpec, run: TaskRun) -> timedelta | None:
    if raw is None or isinstance(raw, timedelta):
        return raw
    return parse_duration(str(step.render(raw, task, run)))


# -- subflows ----------------------------------------------------------------------------------
def start_subflow(step: Step, task: Subflow, run: TaskRun) -> None:
    try:
        namespace = str(step.render(task.namespace, task, run))
        flow_id = str(step.render(task.flowId, task, run))
        inputs = step.render(task.inputs, task, run, typed=True)
        labels = {k: str(v) for k, v in step.render(task.labels, task, run).items()}
    except ExpressionError as exc:
        step.log(run, "ERROR", f"subflow '{task.id}' cannot be rendered: {exc}")
        step.finish(task, run, State.FAILED)
        return
    if task.inheritLabels:
        labels = {**step.ex.labels, **labels}
    step.effects.subflows.append(
        SubflowStart(run.id, namespace, flow_id, inputs, labels, task.wait, task.revision)
    )


def subflow(step: Step, task: Subflow, run: TaskRun) -> State | None:
    return None  # settled by the engine when the child execution ends


def start_loop(step: Step, task: Loop, run: TaskRun) -> None:
    _start_loop(step, task, run, task.values)


def loop(step: Step, task: Loop, run: TaskRun) -> State | None:
    return _iterations(step, task, run, task.concurrencyLimit)


def for_each_item(step: Step, task: ForEachItem, run: TaskRun) -> State | None:
    """Its split, its subflow calls (one per batch) and its merge, one after the other."""
    return step.resolve_list(task.unfolded, run, run.value)


RESOLVERS: dict[type, Resolver] = {
    Sequential: sequential,
    WorkingDirectory: sequential,
    AllowFailure: sequential,
    Parallel: parallel,
    If: if_,
    Switch: switch,
    ForEach: for_each,
    EachSequential: each_sequential,
    EachParallel: each_parallel,
    Dag: dag,
    Pause: pause,
    LoopUntil: loop_until,
    Subflow: subflow,
    ForEachItem: for_each_item,
    Loop: loop,
}

STARTERS: dict[type, Hook] = {
    If: start_if,
    Switch: start_switch,
    ForEach: start_for_each,
    EachSequential: start_each,
    EachParallel: start_each,
    Pause: start_pause,
    LoopUntil: start_loop_until,
    Subflow: start_subflow,
    Loop: start_loop,
}

WAKERS: dict[type, Hook] = {Pause: wake_pause, LoopUntil: wake_loop_until}
