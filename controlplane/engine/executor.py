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

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from controlplane.engine import flowables, rules
from controlplane.engine.draft import Draft
from controlplane.engine.effects import Effects, SubflowStart
from controlplane.engine.flowoutputs import OutputNotRendered, render_outputs
from controlplane.engine.model import TERMINAL, Attempt, Execution, State, TaskRun, new_id, now
from controlplane.engine.outcome import STOPPED, aggregate, worst
from controlplane.engine.plan import FlowPlan, StepEnv
from controlplane.engine.restarts import restart_plan
from controlplane.engine.retries import Retry, policy_for
from controlplane.engine.variables import change_variables
from controlplane.engine.work import AttemptResult
from controlplane.engine.workitems import work_item
from controlplane.expr import ExpressionError, is_truthy
from controlplane.spec.flow import Flow
from controlplane.spec.plugins.core import Exit
from controlplane.spec.plugins.flow import Subflow
from controlplane.spec.tasks import TaskSpec

__all__ = ["Effects", "FlowPlan", "Step", "StepEnv", "SubflowStart"]
"""The step and what the engine gives it and takes from it (defined in their own modules)."""


class Step(Draft):
    """One decision step on an execution (see the module's docstring)."""

    def __init__(
        self, execution: Execution, flow: Flow, env: StepEnv, plan: FlowPlan | None = None
    ) -> None:
        super().__init__(execution, flow, env, plan)
        self._new_execution_policy: Retry | None = None
        self.kills: list[str] = []
        """Task runs a worker must stop (kill, SLA breach)."""
        self._dispatch: list[TaskRun] = []
        self.commands: list[tuple[str, str, dict[str, Any]]] = []
        """Resumes and kills that tasks sent to executions, for once the step commits."""

    # -- what happened ------------------------------------------------------------------------
    def apply_result(self, result: AttemptResult) -> None:
        run = self.run_by_id(result.task_run_id)
        if run is None or run.state.terminal or result.attempt <= len(run.attempts):
            return  # a late result for a run already settled (killed, restarted), or a repeat
        task = self.tasks[run.task_id]
        run.attempts.append(Attempt(result.state, result.started, result.ended, result.error))
        run.outputs = {**run.outputs, **result.outputs}
        if result.labels:
            self.ex.labels.update(result.labels)
            self.execution_changed = True
        if result.variables or result.unset:
            change_variables(self.ex.variables, result.variables, result.unset)
            self.execution_changed = True
        if run.state is not State.RUNNING:
            run.transition(State.RUNNING, result.started)
        self.touch(run)
        policy = policy_for(task, self.tasks, self.parent_task, self.flow)
        if policy is not None and policy.behavior == "CREATE_NEW_EXECUTION":
            self._new_execution_policy = policy
        self.finish(task, run, result.state, at=result.ended, retry=policy)
        for command in result.commands:
            kind, target, _ = command
            if kind == "kill" and target == self.ex.id:
                self.kills += self.kill()  # before anything else of the execution starts
            else:
                self.commands.append(command)

    def apply_subflow_started(self, run_id: str, child_id: str, wait: bool) -> None:
        run = self.run_by_id(run_id)
        if run is None or run.state.terminal:
            return
        run.outputs = {**run.outputs, "executionId": child_id}
        self.touch(run)
        if not wait:
            self.finish(self.tasks[run.task_id], run, State.SUCCESS)

    def apply_subflow_failed_to_start(self, run_id: str, message: str) -> None:
        run = self.run_by_id(run_id)
        if run is not None and not run.state.terminal:
            self.log(run, "ERROR", message)
            self.finish(self.tasks[run.task_id], run, State.FAILED)

    def apply_subflow_ended(self, run_id: str, child: Execution) -> None:
        run = self.run_by_id(run_id)
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
        if rules.command(self.ex, State.RUNNING).refusal is not None:
            return []
        resumed = []
        for run in self.ex.task_runs:
            if run.state is State.PAUSED:
                run.transition(State.RUNNING)
                run.wake_at = None
                if inputs:
                    run.outputs = {**run.outputs, "onResume": dict(inputs)}
                self.touch(run)
                resumed.append(run.id)
        if resumed:
            self.ex.transition(State.RUNNING)
            self.execution_changed = True
        return resumed

    def kill(self) -> list[str]:
        """Start killing: no new task starts; returns the runs a worker must stop."""
        if rules.command(self.ex, State.KILLING).refusal is not None:
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
        if rules.command(self.ex, State.RESTARTED).refusal is not None:
            return False
        dropped, failed = restart_plan(self.ex, self.flow, self.tasks.values(), self.lineage())
        if not failed:
            return False
        self.removed.update(dropped)
        self.ex.task_runs = [r for r in self.ex.task_runs if r.id not in dropped]
        self.reindex()
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

    def check_slas(self, moment: datetime) -> None:
        """Apply the flow's MAX_DURATION SLAs whose deadline has passed."""
        for decision in rules.running_on(self.flow, self.ex, moment).decisions:
            self.log(None, "ERROR", decision.reason)
            self.ex.labels.update(decision.labels)
            self.execution_changed = True
            if decision.state is State.KILLING:
                self.kills += self.kill()
                self.ex.end_state = decision.end_state

    def admit(self, running: Callable[[], int]) -> None:
        """Apply the flow's concurrency limit to a new execution; ``running`` counts the
        executions of the flow that run now."""
        admission = rules.Admission(self.flow.concurrency, running)
        state = rules.apply(rules.EXECUTION_START, self.ex.state, State.RUNNING, admission).state
        if state is not None and state is not State.RUNNING:
            self.ex.transition(state)
            self.execution_changed = True

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
        # Walked on every step over every task before the one running: kept tight.
        states: list[State] = []
        index, parent_id = self.index, parent.id if parent else None
        for task in tasks:
            if task.disabled:
                continue
            run = index.get((task.id, parent_id, value))
            if run is None:
                if self.stopping():
                    return self.ex.end_state or State.KILLED
                run = self.create(task, parent, value, iteration)
            state = run.state
            if state not in TERMINAL:
                self.resolve_run(task, run)
                state = run.state
                if state not in TERMINAL:
                    return None
            if state in STOPPED:
                return state
            states.append(state)
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
        self.added(run)
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
        self,
        task: TaskSpec,
        run: TaskRun,
        state: State,
        at: datetime | None = None,
        retry: Retry | None = None,
    ) -> None:
        """End ``run`` in ``state`` as the rules decide; ``retry`` is the retry policy of an
        attempt that ended (it may send the run to RETRYING instead)."""
        context = rules.TaskEnd(task, run, self.ex.state, retry)
        outcome = rules.apply(rules.TASK_RUN_END, run.state, state, context)
        wait = outcome.wait()
        run.wake_at = None if wait is None else (at or now()) + wait
        run.transition(outcome.state or state, at)
        self.touch(run)

    # -- internals ----------------------------------------------------------------------------
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
        chain = self._new_execution_policy
        if chain is None and self.flow.retry and self.flow.retry.behavior == "CREATE_NEW_EXECUTION":
            chain = self.flow.retry
        context = rules.ExecutionEnd(
            self.ex, self.stopping(), self._render_flow_outputs, bool(self.flow.outputs), chain
        )
        outcome = rules.apply(rules.EXECUTION_END, self.ex.state, state, context)
        if outcome.state is State.RETRIED:
            self.effects.retry_in = outcome.wait()
        self.ex.transition(outcome.state or state)
        self.execution_changed = True

    def _render_flow_outputs(self) -> bool:
        """Render the flow's outputs into the execution; False (logged) when one cannot be."""
        try:
            context = self._base_variables()
            self.ex.outputs = render_outputs(self.flow.outputs, self.env.renderer, context)
        except OutputNotRendered as exc:
            self.log(None, "ERROR", exc.message)
            self.ex.outputs = None
            return False
        return True

    def _effects(self) -> Effects:
        for run in self._dispatch:
            if not run.state.terminal:
                task = self.tasks[run.task_id]
                variables = self.variables(task, run)
                self.effects.dispatch.append(
                    work_item(
                        self.ex, self.flow, task, run, variables, self.lineage(), self.env.work_root
                    )
                )
        self._dispatch.clear()
        waits = [r.wake_at for r in self.ex.task_runs if r.wake_at and not r.state.terminal]
        deadline = rules.sla_deadline(self.flow, self.ex)
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
