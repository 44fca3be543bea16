"""The executor's decision step: from an execution and its flow, the next transitions.

A :class:`Step` is built from the persisted state of one execution. It first takes in what
happened (attempt results, a child execution that ended, a resume or a kill), then
:meth:`Step.advance` walks the flow's task tree: it creates the task runs that may start,
resolves flowable tasks (their state follows from their children's) and ends the execution when
its tasks are done. The step only mutates the execution in memory and lists its effects (runs to
dispatch to workers, subflows to start, times to wake up); the engine persists every change
before it acts on any effect.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from controlplane.engine import flowables
from controlplane.engine.model import Attempt, Execution, State, TaskRun, new_id, now
from controlplane.engine.outcome import STOPPED, aggregate, worst
from controlplane.engine.ports import LogEntry, LogLevel
from controlplane.engine.retries import Retry, next_attempt_in, next_execution_in, policy_for
from controlplane.engine.variables import Lineage, base_variables, outputs_tree, task_variables
from controlplane.engine.work import AttemptResult, WorkItem
from controlplane.expr import ExpressionError, Renderer, is_truthy
from controlplane.spec.durations import format_duration
from controlplane.spec.flow import Flow, walk_task
from controlplane.spec.inputs import INPUT_TYPES
from controlplane.spec.plugins.core import Exit
from controlplane.spec.plugins.flow import AllowFailure, Subflow, WorkingDirectory
from controlplane.spec.tasks import TaskSpec


@dataclass(frozen=True)
class StepEnv:
    """What a step needs besides the execution: rendering and where working directories live."""

    renderer: Renderer
    work_root: Path
    envs: Mapping[str, str] = field(default_factory=dict)
    globals: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SubflowStart:
    parent_run_id: str
    namespace: str
    flow_id: str
    inputs: dict[str, Any]
    labels: dict[str, str]
    wait: bool
    revision: int | None


@dataclass
class Effects:
    dispatch: list[WorkItem] = field(default_factory=list)
    subflows: list[SubflowStart] = field(default_factory=list)
    wake_at: datetime | None = None
    logs: list[LogEntry] = field(default_factory=list)
    retry_in: timedelta | None = None
    """The execution ended RETRIED: start a new one of the chain after this delay."""


@dataclass(frozen=True)
class FlowPlan:
    """Every task of a flow by id, and the id of the flowable that holds it: built once."""

    tasks: dict[str, TaskSpec]
    parent_task: dict[str, str]

    @classmethod
    def of(cls, flow: Flow) -> FlowPlan:
        tasks: dict[str, TaskSpec] = {}
        parent_task: dict[str, str] = {}
        for _, task in flow.all_tasks():
            tasks[task.id] = task
            for _, child in task.children():
                parent_task[child.id] = task.id
        return cls(tasks, parent_task)


class Step:
    def __init__(
        self, execution: Execution, flow: Flow, env: StepEnv, plan: FlowPlan | None = None
    ) -> None:
        self.ex = execution
        self.flow = flow
        self.env = env
        plan = plan or FlowPlan.of(flow)
        self.tasks = plan.tasks
        self.parent_task = plan.parent_task
        self.index = {(r.task_id, r.parent_id, r.value): r for r in execution.task_runs}
        self.changed: dict[str, TaskRun] = {}
        self.removed: set[str] = set()
        self._new_execution_policy: Retry | None = None
        self.kills: list[str] = []
        """Task runs a worker must stop (kill, SLA breach)."""
        self.effects = Effects()
        self._dispatch: list[TaskRun] = []
        self._base: dict[str, Any] | None = None
        self._lineage: Lineage | None = None
        self.execution_changed = False

    # -- what happened ------------------------------------------------------------------------
    def apply_result(self, result: AttemptResult) -> None:
        run = self._run(result.task_run_id)
        if run is None or run.state.terminal or result.attempt <= len(run.attempts):
            return  # a late result for a run already settled (killed, restarted), or a repeat
        task = self.tasks[run.task_id]
        run.attempts.append(Attempt(result.state, result.started, result.ended, result.error))
        run.outputs = {**run.outputs, **result.outputs}
        if result.labels:
            self.ex.labels.update(result.labels)
            self.execution_changed = True
        if run.state is not State.RUNNING:
            run.transition(State.RUNNING, result.started)
        self.touch(run)
        policy = self._retry_policy(task)
        if policy is not None and policy.behavior == "CREATE_NEW_EXECUTION":
            self._new_execution_policy = policy
        elif result.state is State.FAILED and self.ex.state is not State.KILLING:
            delay = next_attempt_in(policy, run)
            if delay is not None:
                run.transition(State.RETRYING, result.ended)
                run.wake_at = result.ended + delay
                return
        state = result.state
        if state is State.SUCCESS and len(run.attempts) > 1 and policy and policy.warningOnRetry:
            state = State.WARNING
        self.finish(task, run, state, at=result.ended)

    def apply_subflow_started(self, run_id: str, child_id: str, wait: bool) -> None:
        run = self._run(run_id)
        if run is None or run.state.terminal:
            return
        run.outputs = {**run.outputs, "executionId": child_id}
        self.touch(run)
        if not wait:
            self.finish(self.tasks[run.task_id], run, State.SUCCESS)

    def apply_subflow_failed_to_start(self, run_id: str, message: str) -> None:
        run = self._run(run_id)
        if run is not None and not run.state.terminal:
            self.log(run, "ERROR", message)
            self.finish(self.tasks[run.task_id], run, State.FAILED)

    def apply_subflow_ended(self, run_id: str, child: Execution) -> None:
        run = self._run(run_id)
        if run is None or run.state.terminal:
            return
        task = self.tasks[run.task_id]
        assert isinstance(task, Subflow)
        run.outputs = {
            **run.outputs,
            "executionId": child.id,
            "state": child.state.value,
            "outputs": child.outputs or {},
        }
        state = child.state
        if state in STOPPED and not task.transmitFailed:
            state = State.SUCCESS
        self.finish(task, run, state if state.terminal else State.FAILED)

    def resume(self, inputs: Mapping[str, Any]) -> list[str]:
        """Resume every paused task; returns the ids of the resumed task runs."""
        resumed = []
        for run in self.ex.task_runs:
            if run.state is State.PAUSED:
                run.transition(State.RUNNING)
                run.wake_at = None
                if inputs:
                    run.outputs = {**run.outputs, "onResume": dict(inputs)}
                self.touch(run)
                resumed.append(run.id)
        if resumed and self.ex.state is State.PAUSED:
            self.ex.transition(State.RUNNING)
            self.execution_changed = True
        return resumed

    def kill(self) -> list[str]:
        """Start killing: no new task starts; returns the runs a worker must stop."""
        if self.ex.state.terminal:
            return []
        self.ex.transition(State.KILLING)
        self.execution_changed = True
        on_workers = []
        for run in self.ex.task_runs:
            if run.state.terminal:
                continue
            task = self.tasks.get(run.task_id)
            if task is not None and not task.flowable and run.state is not State.RETRYING:
                on_workers.append(run.id)
            elif run.state in (State.RETRYING, State.PAUSED):
                run.transition(State.KILLED)
                self.touch(run)
        return on_workers

    def restart(self) -> bool:
        """Run a failed execution again from its failed tasks; False when nothing failed.

        The runs of error and finally branches go (they run again if the tasks fail again);
        failed runnable runs get a new attempt; failed flowable runs resolve again.
        """
        if self.ex.state not in (State.FAILED, State.KILLED):
            return False
        branch_tasks = self._branch_task_ids()
        dropped = {run.id for run in self.ex.task_runs if run.task_id in branch_tasks}
        lineage = self.lineage()
        for run in self.ex.task_runs:
            node = lineage.parent(run)
            while node is not None and run.id not in dropped:
                if node.id in dropped:
                    dropped.add(run.id)
                node = lineage.parent(node)
        failed = [r for r in self.ex.task_runs if r.id not in dropped and r.state.failed]
        if not failed:
            return False
        self.removed.update(dropped)
        self.ex.task_runs = [r for r in self.ex.task_runs if r.id not in dropped]
        self.index = {(r.task_id, r.parent_id, r.value): r for r in self.ex.task_runs}
        self._lineage = None
        for run in failed:
            task = self.tasks[run.task_id]
            run.transition(State.RESTARTED)
            if task.flowable:
                run.transition(State.RUNNING)
            else:
                self._dispatch.append(run)
            self.touch(run)
        self.ex.outputs = None
        self.ex.end_state = None
        self.ex.transition(State.RESTARTED)
        self.execution_changed = True
        return True

    def _branch_task_ids(self) -> set[str]:
        """Ids of the tasks of every errors and finally branch, flow level included."""
        roots = [*self.flow.errors, *self.flow.finally_]
        for task in self.tasks.values():
            roots += [*getattr(task, "errors", []), *getattr(task, "finally_", [])]
        ids: set[str] = set()
        for root in roots:
            ids.update(task.id for _, task in walk_task(root, ()))
        return ids

    def check_slas(self, moment: datetime) -> None:
        """Apply the flow's MAX_DURATION SLAs whose deadline has passed."""
        if self.ex.state.terminal or self.ex.state is State.KILLING:
            return
        for sla in self.flow.sla:
            if sla.type != "MAX_DURATION" or sla.duration is None:
                continue
            if moment < self.ex.started + sla.duration:
                continue
            self.log(None, "ERROR", f"SLA '{sla.id}' breached: the execution ran longer than "
                     f"{format_duration(sla.duration)}")  # fmt: skip
            self.ex.labels.update(sla.labels)
            self.execution_changed = True
            if sla.behavior == "NONE":
                continue
            self.kills += self.kill()
            self.ex.end_state = State.FAILED if sla.behavior == "FAIL" else State.CANCELLED
            return

    def sla_deadline(self) -> datetime | None:
        deadlines = [
            self.ex.started + sla.duration
            for sla in self.flow.sla
            if sla.type == "MAX_DURATION" and sla.duration is not None
        ]
        return min(deadlines) if deadlines and not self.ex.state.terminal else None

    def redispatch_unfinished(self) -> None:
        """After the engine restarted: runnable runs that were handed out go out again, and
        subflows not known to have started are started (the engine starts each only once)."""
        for run in self.ex.task_runs:
            task = self.tasks.get(run.task_id)
            if task is None or run.state.terminal:
                continue
            if isinstance(task, Subflow) and "executionId" not in run.outputs:
                flowables.start_subflow(self, task, run)
            elif not task.flowable and run.state in (State.CREATED, State.RUNNING):
                self._dispatch.append(run)

    def waiting_subflows(self) -> list[tuple[str, str]]:
        """(task run id, child execution id) of the Subflow runs waiting for their child."""
        return [
            (run.id, run.outputs["executionId"])
            for run in self.ex.task_runs
            if not run.state.terminal
            and isinstance(self.tasks.get(run.task_id), Subflow)
            and "executionId" in run.outputs
        ]

    # -- deciding -----------------------------------------------------------------------------
    def advance(self) -> Effects:
        moment = now()
        self._wake_due(moment)
        self.check_slas(moment)
        if self._start_later(moment) is not None:
            return self._effects()
        if self.ex.state in (State.CREATED, State.RESTARTED):
            self.ex.transition(State.RUNNING)
            self.execution_changed = True
        if self.ex.state in (State.QUEUED, State.CANCELLED) or self._finished():
            return self._effects()
        if not self.ex.state.terminal:
            state = self.block(self.flow.tasks, self.flow.errors, self.flow.finally_, None, None)
            if state is None:
                self._pause_or_run()
            else:
                self._end(state)
        if self.ex.state.terminal and self.flow.afterExecution:
            self.resolve_list(self.flow.afterExecution, None, None)
        return self._effects()

    def block(
        self,
        tasks: list[TaskSpec],
        errors: list[TaskSpec],
        finally_: list[TaskSpec],
        parent: TaskRun | None,
        value: str | None,
    ) -> State | None:
        """Tasks, then their error branch when they failed, then ``finally``."""
        state = self.resolve_list(tasks, parent, value)
        return None if state is None else self.close(state, errors, finally_, parent, value)

    def close(
        self,
        state: State,
        errors: list[TaskSpec],
        finally_: list[TaskSpec],
        parent: TaskRun | None,
        value: str | None,
    ) -> State | None:
        """After a group of tasks ended in ``state``: its error branch, then its finally."""
        if state is State.FAILED and errors and self.resolve_list(errors, parent, value) is None:
            return None
        if finally_:
            closing = self.resolve_list(finally_, parent, value)
            if closing is None:
                return None
            state = worst(state, closing)
        return state

    def resolve_list(
        self,
        tasks: Iterable[TaskSpec],
        parent: TaskRun | None,
        value: str | None,
        iteration: int | None = None,
    ) -> State | None:
        """Run ``tasks`` one after the other; the state of the list, or None while it runs.

        ``iteration`` numbers the loop iteration these runs belong to, when there is one."""
        states: list[State] = []
        for task in tasks:
            if task.disabled:
                continue
            run = self.find(task, parent, value)
            if run is None:
                if self.stopping():
                    return self.ex.end_state or State.KILLED
                run = self.create(task, parent, value, iteration)
            if not run.state.terminal:
                self.resolve_run(task, run)
            if not run.state.terminal:
                return None
            if run.state in STOPPED:
                return run.state
            states.append(run.state)
        return aggregate(states)

    def resolve_run(self, task: TaskSpec, run: TaskRun) -> None:
        """Bring a flowable run up to date with its children; runnable runs wait for workers."""
        if not task.flowable or run.state not in (State.RUNNING, State.PAUSED):
            return
        resolver = flowables.RESOLVERS.get(type(task))
        if resolver is None:
            self.log(run, "ERROR", f"{task.type} cannot run here")
            self.finish(task, run, State.FAILED)
            return
        state = resolver(self, task, run)
        if state is not None:
            errors, finally_ = getattr(task, "errors", []), getattr(task, "finally_", [])
            state = self.close(state, errors, finally_, run, run.value)
        if state is not None:
            self.finish(task, run, state)

    def find(self, task: TaskSpec, parent: TaskRun | None, value: str | None) -> TaskRun | None:
        return self.index.get((task.id, parent.id if parent else None, value))

    def create(
        self,
        task: TaskSpec,
        parent: TaskRun | None,
        value: str | None,
        iteration: int | None = None,
    ) -> TaskRun:
        run = TaskRun(
            id=new_id(),
            task_id=task.id,
            parent_id=parent.id if parent else None,
            value=value,
            iteration=iteration
            if iteration is not None
            else (parent.iteration if parent else None),
        )
        self.ex.task_runs.append(run)
        self.index[(task.id, run.parent_id, value)] = run
        self._lineage = None
        self.touch(run)
        if task.runIf is not None and not self._run_if(task, run):
            return run
        if isinstance(task, Exit):
            self._exit(task, run)
        elif task.flowable:
            run.transition(State.RUNNING)
            start = flowables.STARTERS.get(type(task))
            if start is not None:
                start(self, task, run)
        else:
            self._dispatch.append(run)
        return run

    def _exit(self, task: Exit, run: TaskRun) -> None:
        """Exit ends the execution in its state: no task starts after it; KILLED also stops
        the tasks still running."""
        run.transition(State.RUNNING)
        run.transition(State.SUCCESS)
        state = State.CANCELLED if task.state in ("CANCELED", "CANCELLED") else State(task.state)
        if state is State.KILLED:
            self.kills += self.kill()
        self.ex.end_state = state
        self.execution_changed = True

    def stopping(self) -> bool:
        """No new task starts: the execution is being killed or an Exit task ended it."""
        return self.ex.state is State.KILLING or self.ex.end_state is not None

    def finish(
        self, task: TaskSpec, run: TaskRun, state: State, at: datetime | None = None
    ) -> None:
        if state is State.FAILED and (task.allowFailure or isinstance(task, AllowFailure)):
            state = State.WARNING
        if state is State.WARNING and task.allowWarning:
            state = State.SUCCESS
        run.wake_at = None
        run.transition(state, at)
        self.touch(run)

    def touch(self, run: TaskRun) -> None:
        self.changed[run.id] = run
        self._base = None

    # -- rendering ----------------------------------------------------------------------------
    def variables(self, task: TaskSpec, run: TaskRun) -> dict[str, Any]:
        lineage = self.lineage()
        if self._base is None:
            outputs = outputs_tree(self.ex, lineage)
            self._base = base_variables(
                self.ex, self.flow, outputs, self.env.envs, self.env.globals
            )
        return task_variables(self._base, task, run, lineage)

    def lineage(self) -> Lineage:
        if self._lineage is None:
            self._lineage = Lineage(self.ex, self.tasks)
        return self._lineage

    def render(self, value: Any, task: TaskSpec, run: TaskRun, typed: bool = False) -> Any:
        return self.env.renderer.render_value(value, self.variables(task, run), typed=typed)

    def log(self, run: TaskRun | None, level: LogLevel, message: str) -> None:
        self.effects.logs.append(
            LogEntry(
                execution_id=self.ex.id,
                task_run_id=run.id if run else None,
                task_id=run.task_id if run else None,
                attempt=None,
                level=level,
                message=message,
                at=now(),
                namespace=self.ex.namespace,
                flow_id=self.ex.flow_id,
            )
        )

    # -- internals ----------------------------------------------------------------------------
    def _run(self, run_id: str) -> TaskRun | None:
        try:
            return self.ex.task_run(run_id)
        except KeyError:
            return None

    def _run_if(self, task: TaskSpec, run: TaskRun) -> bool:
        try:
            keep = is_truthy(self.render(task.runIf, task, run, typed=True))
        except ExpressionError as exc:
            self.log(run, "ERROR", f"runIf of task '{task.id}' cannot be rendered: {exc}")
            run.transition(State.FAILED)
            return False
        if not keep:
            run.transition(State.SKIPPED)
        return keep

    def _retry_policy(self, task: TaskSpec) -> Retry | None:
        return policy_for(task, self.tasks, self.parent_task, self.flow)

    def _wake_due(self, moment: datetime) -> None:
        for run in self.ex.task_runs:
            if run.wake_at is None or run.wake_at > moment or run.state.terminal:
                continue
            if run.state is State.RETRYING:
                run.wake_at = None
                self.touch(run)
                self._dispatch.append(run)
            else:
                waker = flowables.WAKERS.get(type(self.tasks[run.task_id]))
                if waker is not None:
                    waker(self, self.tasks[run.task_id], run)

    def _finished(self) -> bool:
        return self.ex.state.terminal and all(r.state.terminal for r in self.ex.task_runs)

    def _pause_or_run(self) -> None:
        paused = any(r.state is State.PAUSED for r in self.ex.task_runs)
        target = State.PAUSED if paused else State.RUNNING
        if self.ex.state is State.KILLING:
            return
        if self.ex.state is not target:
            self.ex.transition(target)
            self.execution_changed = True

    def _end(self, state: State) -> None:
        if self.stopping():
            state = self.ex.end_state or State.KILLED
        elif state is State.SKIPPED:
            state = State.SUCCESS
        if state in (State.SUCCESS, State.WARNING) and self.flow.outputs:
            state = self._render_flow_outputs(state)
        if state is State.FAILED:
            delay = self._chain_retry_delay()
            if delay is not None:
                state = State.RETRIED
                self.effects.retry_in = delay
        self.ex.transition(state)
        self.execution_changed = True

    def _chain_retry_delay(self) -> timedelta | None:
        """When a CREATE_NEW_EXECUTION policy allows another execution: the wait before it."""
        policy = self._new_execution_policy
        if (
            policy is None
            and self.flow.retry
            and self.flow.retry.behavior == "CREATE_NEW_EXECUTION"
        ):
            policy = self.flow.retry
        return next_execution_in(policy, self.ex)

    def _render_flow_outputs(self, state: State) -> State:
        context = dict(self.variables_for_flow())
        outputs: dict[str, Any] = {}
        for output in self.flow.outputs:
            try:
                typed = output.type != "STRING"
                value = self.env.renderer.render_value(output.value, context, typed=typed)
                value = coerce_output(output.type, value)
            except (ExpressionError, ValueError) as exc:
                self.log(None, "ERROR", f"flow output '{output.id}' cannot be rendered: {exc}")
                self.ex.outputs = None
                return State.FAILED
            outputs[output.id] = value
        self.ex.outputs = outputs
        return state

    def variables_for_flow(self) -> Mapping[str, Any]:
        if self._base is None:
            outputs = outputs_tree(self.ex, self.lineage())
            self._base = base_variables(
                self.ex, self.flow, outputs, self.env.envs, self.env.globals
            )
        return self._base

    def working_dir_run(self, run: TaskRun) -> TaskRun | None:
        """The run of the WorkingDirectory that encloses ``run``, when there is one."""
        lineage = self.lineage()
        node = lineage.parent(run)
        while node is not None:
            if isinstance(self.tasks.get(node.task_id), WorkingDirectory):
                return node
            node = lineage.parent(node)
        return None

    def _work_item(self, task: TaskSpec, run: TaskRun) -> WorkItem:
        variables = self.variables(task, run)
        directory = self.working_dir_run(run)
        if directory is not None:
            variables["workerTaskrun"] = {
                "id": directory.id,
                "value": directory.value,
                "parentId": directory.parent_id,
                "startDate": variables["taskrun"]["startDate"],
            }
        return WorkItem(
            execution_id=self.ex.id,
            namespace=self.ex.namespace,
            flow_id=self.ex.flow_id,
            flow_revision=self.ex.flow_revision,
            task_run_id=run.id,
            task=task,
            attempt=len(run.attempts) + 1,
            variables=variables,
            timeout=task.timeout,
            working_dir=self.env.work_root / self.ex.id / directory.id if directory else None,
            secret_values=self._secret_inputs(),
            parent_executions=self._parents(),
        )

    def _effects(self) -> Effects:
        for run in self._dispatch:
            if not run.state.terminal:
                self.effects.dispatch.append(self._work_item(self.tasks[run.task_id], run))
        self._dispatch.clear()
        waits = [r.wake_at for r in self.ex.task_runs if r.wake_at and not r.state.terminal]
        deadline = self.sla_deadline()
        if deadline is not None:
            waits.append(deadline)
        later = self._start_later(now())
        if later is not None:
            waits.append(later)
        self.effects.wake_at = min(waits) if waits else None
        return self.effects

    def _start_later(self, moment: datetime) -> datetime | None:
        """When a created execution scheduled after ``moment`` (the next of a retry chain)
        starts; None when it starts now."""
        scheduled = self.ex.scheduled
        if self.ex.state is State.CREATED and scheduled is not None and scheduled > moment:
            return scheduled
        return None

    def _parents(self) -> tuple[tuple[str, str, str], ...]:
        parent = self.ex.parent
        if parent is None:
            return ()
        return ((parent.namespace, parent.flow_id, parent.execution_id),)

    def _secret_inputs(self) -> tuple[str, ...]:
        secret_ids = {item.id for item in self.flow.inputs if item.type == "SECRET"}
        return tuple(
            str(self.ex.inputs[key]) for key in secret_ids if self.ex.inputs.get(key) is not None
        )


def coerce_output(kind: str, value: Any) -> Any:
    """A flow output as its declared type (ARRAY and FILE are kept as rendered)."""
    if value is None or kind in ("FILE", "ARRAY") or kind not in INPUT_TYPES:
        if kind == "ARRAY" and isinstance(value, str):
            return INPUT_TYPES["JSON"].model_validate({"id": "o", "type": "JSON"}).coerce(value)
        return value
    return INPUT_TYPES[kind].model_validate({"id": "output", "type": kind}).coerce(value)
