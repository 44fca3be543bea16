"""The engine: the loop that advances executions step by step and persists them.

One executor thread takes events (a new execution, an attempt's result, a resume, a kill, a
timer, a child execution that started or ended) from a queue. It drains what is waiting, applies
it execution by execution through :class:`~controlplane.engine.executor.Step`, persists every
changed execution and task run in one transaction, and only then acts on the effects: work for
the workers, subflows to create, timers to set, waiters to wake.

Where the work goes depends on the run mode, an object of its own (``dispatch.py``): standalone,
a worker pool in this process (``LocalDispatch``); one executor of many on a shared database,
the database's work queue and leases (``SharedDispatch`` in ``sharing.py``). A process that
advances no execution (the API and scheduler roles) has no engine: ``RemoteCommands``.

A step that fails with an unexpected error is applied again, each execution's events alone and
read afresh from the database; an execution whose events fail again ends FAILED with the error,
so one bad event neither is lost nor holds back the others.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import defaultdict
from datetime import datetime, timedelta

from controlplane.engine.commands import (
    AlreadyFired,
    Commands,
    EngineSettings,
    ExecutionNotFound,
    FlowNotFound,
)
from controlplane.engine.dispatch import Dispatch, LocalDispatch, WorkerPort
from controlplane.engine.events import STOP, Event, over
from controlplane.engine.executor import Effects, Step, StepEnv, SubflowStart
from controlplane.engine.faults import fail_execution
from controlplane.engine.model import Execution, ParentRef, State, new_id, now
from controlplane.engine.ports import Repositories, Store, StoreUnavailable
from controlplane.engine.reach import check_reach
from controlplane.engine.sharing import SharedDispatch
from controlplane.engine.timers import Timers
from controlplane.errors import WeirError
from controlplane.spec.flow import Flow

__all__ = [
    "Engine",
    "EngineSettings",
    "ExecutionNotFound",
    "FlowNotFound",
    "WorkerPort",
]

log = logging.getLogger(__name__)

BATCH = 500
"""Events taken off the queue for one transaction at most."""
SUBFLOW_RETRY = timedelta(seconds=1)
"""How long after the database failed to start a subflow the start is tried again."""
STORE_RETRY = 1.0
"""Seconds the loop waits before it applies again the events of a step the database refused."""

_Outcome = tuple[Execution, Effects, list[str], list[Event]]
"""A committed step: the execution, its effects, the runs to stop, the events to route."""


class Engine(Commands):
    def __init__(self, store: Store, worker: WorkerPort | None, settings: EngineSettings) -> None:
        super().__init__(store, settings)
        self.env = StepEnv(self.renderer, settings.work_root, settings.envs, settings.globals)
        self._events: queue.Queue[Event] = queue.Queue()
        self._active: dict[str, Execution] = {}
        self._timers = Timers()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.dispatch: Dispatch
        if settings.executor_id is not None:
            deliver = self._events.put
            self.dispatch = SharedDispatch(store, deliver, settings, settings.executor_id)
        elif worker is not None:
            self.dispatch = LocalDispatch(store, self._events.put, worker, self.stats)
        else:
            raise ValueError("an engine that runs executions needs a worker or a shared database")

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="weir-executor", daemon=True)
        self._thread.start()
        self.dispatch.start()

    def stop(self, grace_seconds: float = 10.0) -> None:
        """Hand out no new work, let running attempts finish within the grace period (then
        stop them), record their results, and stop. Runs not handed out yet stay CREATED and
        go out again when an engine starts on the same store."""
        self.dispatch.drain(grace_seconds)
        self._events.put(STOP)
        if self._thread is not None:
            self._thread.join(timeout=grace_seconds + 5)
            self._thread = None
        self.dispatch.release()

    @property
    def running(self) -> bool:
        """Whether the executor loop runs: between ``start`` and ``stop``."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def queue_depth(self) -> int:
        """Events waiting for the executor loop, and timers set."""
        return self._events.qsize() + len(self._timers)

    # -- how commands reach the loop -------------------------------------------------------------
    def _hold(self, repos: Repositories, execution_id: str) -> None:
        self.dispatch.hold(repos, execution_id)

    def _started(self, execution: Execution) -> None:
        self._events.put(Event(execution.id, "start"))

    def _send(self, event: Event) -> None:
        self.dispatch.route(event)

    def _cached(self, execution_id: str) -> Execution | None:
        return self._active.get(execution_id)

    # -- the executor loop ----------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping.is_set():
            first = self._next_event()
            if first is None:
                continue
            batch = [first]
            while len(batch) < BATCH:
                try:
                    batch.append(self._events.get_nowait())
                except queue.Empty:
                    break
            if STOP in batch:
                self._stopping.set()
                batch = [event for event in batch if event is not STOP]
            self._run(batch)

    def _next_event(self) -> Event | None:
        try:
            event: Event | None = self._events.get(timeout=self._timers.timeout())
        except queue.Empty:
            event = None
        for due in self._timers.due():
            self._events.put(due)
        return event

    def _run(self, batch: list[Event]) -> None:
        """Apply ``batch``; when that fails for another reason than the database, apply each
        execution's events again alone, and fail the execution whose events fail again."""
        try:
            self._process(batch)
            return
        except StoreUnavailable as exc:
            self._again_later(batch, exc)
            return
        except Exception:
            ids = sorted({event.execution_id for event in batch})
            log.exception("executor step failed for %s; applying each one's events again", ids)
        later: list[Event] = []
        for events in _by_execution(batch).values():
            self._active.pop(events[0].execution_id, None)  # read afresh: the step changed it
            try:
                self._process(events)
            except StoreUnavailable:
                later += events
            except Exception as exc:
                log.exception("executor step failed again for %s", events[0].execution_id)
                self._fail(events, exc)
        if later:
            self._again_later(later, StoreUnavailable("the database failed"))

    def _again_later(self, events: list[Event], exc: Exception) -> None:
        """The database is away: keep the events, and try again."""
        log.warning("the database failed (%s); retrying %d events", exc, len(events))
        for execution_id in {event.execution_id for event in events}:
            self._active.pop(execution_id, None)
        if not self._stopping.wait(STORE_RETRY):
            for event in events:
                self._events.put(event)

    def _process(self, batch: list[Event]) -> None:
        grouped = _by_execution(batch)
        outcomes: list[_Outcome] = []
        with self.store.unit() as repos:
            held = self.dispatch.fence(repos, grouped)
            for execution_id in set(grouped) - set(held):
                self._active.pop(execution_id, None)
            for execution_id, events in held.items():
                outcome = self._step(repos, execution_id, events)
                if outcome is not None:
                    outcomes.append(outcome)
            taken = self.dispatch.settle(repos, [e for events in held.values() for e in events])
        self.dispatch.committed(taken)
        for outcome in outcomes:
            self._act(*outcome)
        self._changed()

    def _step(self, repos: Repositories, execution_id: str, events: list[Event]) -> _Outcome | None:
        if any(event.kind == "recover" for event in events):
            self._active.pop(execution_id, None)  # another executor may have advanced it
        execution = self._active.get(execution_id)
        if execution is None:
            execution = repos.executions.read_execution(execution_id)
            if execution is None:
                return None
        flow = self._flow(repos, execution)
        step = Step(execution, flow, self.env, self.flows.plan(flow, execution.flow_revision))
        was_terminal, was_over = execution.state.terminal, over(execution)
        kills: list[str] = []
        for event in events:
            kills += self._apply(repos, step, flow, event)
        effects = step.advance()
        kills += step.kills
        if step.changed or step.execution_changed or step.removed:
            # Most steps change task runs only (one ended, the next one started).
            repos.executions.update_execution(
                execution, step.changed.values(), step.removed, row=step.execution_changed
            )
        if execution.state.terminal and not was_terminal:
            repos.triggers.record_end(execution.id)
        if effects.retry_in is not None:
            self._retry_as_new(repos, execution, now() + effects.retry_in)
        self.dispatch.stepped(repos, execution, effects)
        notices = self._ended(repos, execution) if over(execution) and not was_over else []
        sent = [Event(target, kind, payload) for kind, target, payload in step.commands]
        notices += self.dispatch.relay(repos, sent)
        if effects.logs:
            repos.logs.create_logs(effects.logs)
        return execution, effects, kills, notices

    def _apply(self, repos: Repositories, step: Step, flow: Flow, event: Event) -> list[str]:
        kind = event.kind
        if kind == "start":
            self._admit(repos, step, flow)
        elif kind == "dequeue" and step.ex.state is State.QUEUED:
            step.ex.transition(State.RUNNING)
            step.execution_changed = True
        elif kind == "result":
            step.apply_result(event.payload)
        elif kind == "queued_result":
            step.apply_result(event.payload[1])
        elif kind == "subflow_started":
            run_id, child_id, wait = event.payload
            step.apply_subflow_started(run_id, child_id, wait)
        elif kind == "subflow_retry":
            run = next((r for r in step.ex.task_runs if r.id == event.payload.parent_run_id), None)
            if run is not None and not run.state.terminal and "executionId" not in run.outputs:
                step.effects.subflows.append(event.payload)
        elif kind == "subflow_failed":
            run_id, message = event.payload
            step.apply_subflow_failed_to_start(run_id, message)
        elif kind == "subflow_ended":
            run_id, child = event.payload
            step.apply_subflow_ended(run_id, child)
        elif kind == "resume":
            step.resume(event.payload)
        elif kind == "kill":
            return step.kill()
        elif kind == "restart":
            step.restart()
        elif kind == "recover":
            step.redispatch_unfinished()
            for run_id, child_id in step.waiting_subflows():
                child = repos.executions.read_execution(child_id)
                if child is not None and over(child):
                    step.apply_subflow_ended(run_id, child)
        return []

    def _admit(self, repos: Repositories, step: Step, flow: Flow) -> None:
        """Apply the flow's concurrency limit to a new execution."""
        step.admit(lambda: repos.executions.count_running(step.ex.namespace, step.ex.flow_id))

    def _ended(self, repos: Repositories, execution: Execution) -> list[Event]:
        """In the transaction that ends the execution: tell its parent, and start the next
        execution its flow's concurrency limit queued. Returns the events to route once the
        transaction commits (the run mode may have written them in it instead)."""
        notices: list[Event] = []
        if execution.parent is not None:
            parent = execution.parent
            notices.append(
                Event(parent.execution_id, "subflow_ended", (parent.task_run_id, execution))
            )
        queued = repos.executions.oldest_queued(execution.namespace, execution.flow_id)
        if queued is not None:
            notices.append(Event(queued, "dequeue"))
        return self.dispatch.ended(repos, execution, notices)

    def _act(
        self, execution: Execution, effects: Effects, kills: list[str], notices: list[Event]
    ) -> None:
        self.dispatch.act(execution, effects, kills)
        for start in effects.subflows:
            self._start_subflow(execution, start)
        if effects.wake_at is not None:
            self._timers.later(effects.wake_at, Event(execution.id, "wake"))
        if over(execution):
            self._active.pop(execution.id, None)
            self.dispatch.forget(execution.id)
        else:
            self._active[execution.id] = execution
        for notice in notices:
            self.dispatch.route(notice)

    def _changed(self) -> None:
        """Wake those who wait on executions, once the step's outcomes are all acted on."""
        with self._done:
            self._done.notify_all()

    def _fail(self, events: list[Event], error: Exception) -> None:
        """End the execution of ``events`` FAILED with ``error``: its events failed twice."""
        execution_id = events[0].execution_id
        try:
            with self.store.unit() as repos:
                if not self.dispatch.fence(repos, {execution_id: events}):
                    return
                execution = repos.executions.read_execution(execution_id, for_update=True)
                outcome = None
                if execution is not None and not over(execution):
                    kills = fail_execution(repos, execution, error)
                    outcome = (execution, Effects(), kills, self._ended(repos, execution))
                taken = self.dispatch.settle(repos, events)
        except Exception:
            log.exception("could not end execution %s FAILED; its events are dropped", execution_id)
            self.dispatch.failed(events)
            return
        self.dispatch.committed(taken)
        if outcome is not None:
            self._act(*outcome)
            self._changed()

    def _retry_as_new(self, repos: Repositories, failed: Execution, at: datetime) -> None:
        """The next execution of a CREATE_NEW_EXECUTION retry chain, created in the transaction
        that ended ``failed`` and scheduled to start ``at``: a restart loses no retry."""
        execution = Execution(
            id=new_id(),
            namespace=failed.namespace,
            flow_id=failed.flow_id,
            flow_revision=failed.flow_revision,
            inputs=failed.inputs,
            labels=dict(failed.labels),
            trigger=failed.trigger,
            parent=failed.parent,
            original_id=failed.original_id or failed.id,
            attempt=failed.attempt + 1,
            chain_started=failed.chain_started or failed.started,
            scheduled=at,
        )
        repos.executions.create_execution(execution)
        self.dispatch.hold(repos, execution.id)
        self._events.put(Event(execution.id, "start"))

    # -- subflows and flows ---------------------------------------------------------------------
    def _start_subflow(self, parent: Execution, start: SubflowStart) -> None:
        try:
            self._create_subflow(parent, start)
        except StoreUnavailable as exc:  # not the subflow's fault: start it when the store is back
            log.warning("starting a subflow of %s failed (%s); retrying", parent.id, exc)
            self._timers.later(now() + SUBFLOW_RETRY, Event(parent.id, "subflow_retry", start))

    def _create_subflow(self, parent: Execution, start: SubflowStart) -> None:
        ref = ParentRef(parent.id, start.parent_run_id, parent.namespace, parent.flow_id)
        labels = {**start.labels, "system.correlationId": parent.labels.get(
            "system.correlationId", parent.id
        )}  # fmt: skip
        key = f"subflow:{start.parent_run_id}"
        try:
            with self.store.unit() as repos:
                check_reach(repos, parent.namespace, start.namespace, "the flows")
                child = self.new_execution(
                    repos, start.namespace, start.flow_id, start.inputs, labels, None,
                    start.revision, ref, True,
                )  # fmt: skip
                if not repos.triggers.claim_fire(key, child.id):
                    raise AlreadyFired
        except AlreadyFired:  # created before (by an executor that lost the parent, or by a
            # transaction whose commit went through unanswered): it may still wait for its start
            with self.store.unit(read_only=True) as repos:
                child_id = repos.triggers.read_fire(key)
                known = repos.executions.read_execution(child_id) if child_id else None
            if child_id is not None:
                if known is not None and known.state is State.CREATED:
                    self.dispatch.route(Event(child_id, "start"))
                self._events.put(
                    Event(parent.id, "subflow_started", (start.parent_run_id, child_id, start.wait))
                )
            return
        except StoreUnavailable:
            raise
        except WeirError as exc:
            self._events.put(Event(parent.id, "subflow_failed", (start.parent_run_id, exc.message)))
            return
        self._events.put(Event(child.id, "start"))
        self._events.put(
            Event(parent.id, "subflow_started", (start.parent_run_id, child.id, start.wait))
        )

    def _flow(self, repos: Repositories, execution: Execution) -> Flow:
        namespace, flow_id = execution.namespace, execution.flow_id
        flow = self.flows.read(repos, namespace, flow_id, execution.flow_revision)
        if flow is None:
            raise FlowNotFound(
                f"flow {namespace}/{flow_id} revision {execution.flow_revision} is gone"
            )
        return flow


def _by_execution(batch: list[Event]) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = defaultdict(list)
    for event in batch:
        grouped[event.execution_id].append(event)
    return grouped
