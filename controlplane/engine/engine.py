"""The engine: executions created, advanced step by step, persisted, and handed to workers.

One executor thread takes events (a new execution, an attempt's result, a resume, a kill, a
timer, a child execution that started or ended) from a queue. It drains what is waiting, applies
it execution by execution through :class:`~controlplane.engine.executor.Step`, persists every
changed execution and task run in one transaction, and only then acts on the effects: work for
the workers, subflows to create, timers to set, waiters to wake.

Standalone, the engine hands attempts to a worker pool in its own process. One of many executors
on a shared database (``EngineSettings.executor_id``), it advances only the executions it holds a
lease on, and queues attempts in the same transaction as the step that decided them; workers in
other processes claim them, and their results come back through the database. An executor that
dies lets its leases lapse; another takes its executions over and reads them afresh.
"""

from __future__ import annotations

import heapq
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from controlplane.engine.executor import Effects, FlowPlan, Step, StepEnv, SubflowStart
from controlplane.engine.inputs import resolve_inputs
from controlplane.engine.model import Execution, ParentRef, State, new_id, now
from controlplane.engine.ports import (
    FlowRecord,
    Repositories,
    Store,
    StoreUnavailable,
    execution_storage_path,
)
from controlplane.engine.reach import check_reach
from controlplane.engine.sharing import (
    SharedState,
    killed_before_start,
    queued_work,
    settle_taken,
    share,
)
from controlplane.engine.stats import EngineStats
from controlplane.engine.work import (
    AttemptResult,
    WorkItem,
    result_to_json,
)
from controlplane.errors import WeirError
from controlplane.expr import Renderer
from controlplane.spec.flow import Flow
from controlplane.spec.problems import FlowInvalid
from controlplane.spec.validate import validate_text

log = logging.getLogger(__name__)


class FlowNotFound(WeirError):
    code = "flow_not_found"


class ExecutionNotFound(WeirError):
    code = "execution_not_found"


class NotRestartable(WeirError):
    code = "not_restartable"


class WorkerPort(Protocol):
    def submit(self, item: WorkItem, on_done: Callable[[AttemptResult], None]) -> None: ...

    def kill(self, task_run_id: str) -> bool: ...

    def shutdown(self, grace_seconds: float) -> None: ...


@dataclass(frozen=True)
class EngineSettings:
    work_root: Path
    envs: Mapping[str, str] = field(default_factory=dict)
    """``envs.<name>`` in expressions."""
    globals: Mapping[str, Any] = field(default_factory=dict)
    """``globals.<name>`` in expressions: server-wide variables from configuration."""
    remote: bool = False
    """Commands (start, kill, resume, restart) go to the database for an executor in another
    process, instead of to this engine's own loop; such an engine is never started."""
    executor_id: str | None = None
    """Set on one of many executors sharing a database (``weir server executor``): the engine
    advances only the executions it holds a lease on, queues attempts in the database for
    workers in other processes, and takes commands and results for what it holds."""
    lease: timedelta = timedelta(seconds=20)
    """How long a held execution stays this executor's without a renewal."""
    poll: float = 0.05
    """Seconds between two looks at the database for commands, results and executions to take."""


@dataclass(frozen=True)
class _Event:
    execution_id: str
    kind: str
    payload: Any = None
    taken: str | None = None
    """The key of the database row (result, command) it came from, removed when applied."""


class Engine:
    def __init__(self, store: Store, worker: WorkerPort | None, settings: EngineSettings) -> None:
        self.store = store
        self.worker = worker
        self.settings = settings
        self.renderer = Renderer()
        self.env = StepEnv(self.renderer, settings.work_root, settings.envs, settings.globals)
        self._events: queue.Queue[_Event] = queue.Queue()
        self._active: dict[str, Execution] = {}
        self._flows: dict[tuple[str, str, int], Flow] = {}
        self._plans: dict[tuple[str, str, int], FlowPlan] = {}
        self._timers: list[tuple[datetime, int, _Event]] = []
        self._timer_count = 0
        self._done = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._draining = threading.Event()
        self.stats = EngineStats()
        self._poller: threading.Thread | None = None
        self.shared = SharedState(settings.executor_id) if settings.executor_id else None
        if worker is None and self.shared is None and not settings.remote:
            raise ValueError("an engine that runs executions needs a worker or a shared database")

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        if self.shared is not None:
            with self.store.unit() as repos:
                repos.work.adopt_unleased()
        else:
            with self.store.unit() as repos:
                unfinished = repos.executions.list_unfinished_execution_ids()
            for execution_id in unfinished:
                self._events.put(_Event(execution_id, "recover"))
        self._thread = threading.Thread(target=self._loop, name="weir-executor", daemon=True)
        self._thread.start()
        if self.shared is not None:
            self._poller = threading.Thread(
                target=share,
                args=(self.store, self.shared, self.settings, self._draining, self._deliver),
                name="weir-share",
                daemon=True,
            )
            self._poller.start()

    def stop(self, grace_seconds: float = 10.0) -> None:
        """Hand out no new work, let running attempts finish within the grace period (then
        stop them), record their results, and stop. Runs not handed out yet stay CREATED and
        go out again when an engine starts on the same store."""
        self._draining.set()
        if self._poller is not None:
            self._poller.join(timeout=5)
            self._poller = None
        if self.worker is not None:
            self.worker.shutdown(grace_seconds)
        self._events.put(_STOP)
        if self._thread is not None:
            self._thread.join(timeout=grace_seconds + 5)
            self._thread = None
        if self.shared is not None:
            self._release()

    @property
    def running(self) -> bool:
        """Whether the executor loop runs: between ``start`` and ``stop``."""
        return self._thread is not None and self._thread.is_alive()

    # -- commands -----------------------------------------------------------------------------
    def create_execution(
        self,
        namespace: str,
        flow_id: str,
        inputs: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        trigger: Mapping[str, Any] | None = None,
        revision: int | None = None,
        parent: ParentRef | None = None,
        coerce_inputs: bool = True,
    ) -> Execution:
        """Create an execution and queue it; raises FlowNotFound or InputError."""
        with self.store.unit() as repos:
            execution = self._new_execution(
                repos, namespace, flow_id, inputs or {}, labels or {}, trigger, revision, parent,
                coerce_inputs,
            )  # fmt: skip
            if self.settings.remote:
                repos.commands.create_command(execution.id, "start")
        if not self.settings.remote:
            self._events.put(_Event(execution.id, "start"))
        return execution

    def fire(
        self,
        key: str,
        namespace: str,
        flow_id: str,
        inputs: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        trigger: Mapping[str, Any] | None = None,
    ) -> Execution | None:
        """Create the execution of a trigger's firing ``key`` (a schedule's slot, an upstream
        execution), or nothing when that firing already created one, here or in another
        process. Raises FlowNotFound or InputError like ``create_execution``."""
        try:
            with self.store.unit() as repos:
                execution = self._new_execution(
                    repos, namespace, flow_id, inputs or {}, labels or {}, trigger, None, None,
                    True,
                )  # fmt: skip
                if not repos.triggers.claim_fire(key, execution.id):
                    raise _AlreadyFired
                if self.settings.remote:
                    repos.commands.create_command(execution.id, "start")
        except _AlreadyFired:
            return None
        if not self.settings.remote:
            self._events.put(_Event(execution.id, "start"))
        return execution

    def kill(self, execution_id: str) -> None:
        self._require(execution_id)
        self._send(_Event(execution_id, "kill"))

    def resume(self, execution_id: str, inputs: Mapping[str, Any] | None = None) -> None:
        self._require(execution_id)
        self._send(_Event(execution_id, "resume", dict(inputs or {})))

    @property
    def queue_depth(self) -> int:
        """Events waiting for the executor loop, and timers set."""
        return self._events.qsize() + len(self._timers)

    def _send(self, event: _Event) -> None:
        if self.settings.remote:
            self._record(event)
        else:
            self._route(event)

    def _route(self, event: _Event) -> None:
        """To this executor's loop, or, for an execution another executor holds, through the
        database."""
        if self.shared is None or self.shared.holds(event.execution_id):
            self._events.put(event)
        else:
            self._record(event)

    def _record(self, event: _Event) -> None:
        """A command in the database, for the executor that holds (or takes) the execution."""
        payload = event.payload
        if event.kind == "subflow_ended":
            run_id, child = payload
            payload = [run_id, child.to_dict()]
        with self.store.unit() as repos:
            if event.kind == "restart":  # an ended execution has no lease left
                repos.work.create_lease(event.execution_id, None, self.settings.lease)
            repos.commands.create_command(event.execution_id, event.kind, payload)

    def restart(self, execution_id: str) -> None:
        """Run a failed execution again from its failed tasks (same execution id)."""
        execution = self._require(execution_id)
        if execution.state not in (State.FAILED, State.KILLED):
            raise NotRestartable(
                f"execution {execution_id} is {execution.state.value}; only a FAILED or KILLED "
                "execution can be restarted"
            )
        self._send(_Event(execution_id, "restart"))

    def read(self, execution_id: str) -> Execution:
        return self._require(execution_id)

    def wait(
        self, execution_id: str, timeout: float | None = None, until: frozenset[State] | None = None
    ) -> Execution:
        """Block until the execution is over (or in one of ``until``); returns its state then."""
        deadline = None if timeout is None else now().timestamp() + timeout
        with self._done:
            while True:
                execution = self._active.get(execution_id) or self._require(execution_id)
                if _over(execution) or (until is not None and execution.state in until):
                    # The cached object changes before its step commits: answer what is stored.
                    stored = self._stored(execution_id)
                    if _over(stored) or (until is not None and stored.state in until):
                        return stored
                remaining = None if deadline is None else deadline - now().timestamp()
                if remaining is not None and remaining <= 0:
                    return execution
                self._done.wait(timeout=min(remaining or 0.5, 0.5))

    # -- the executor loop ----------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping.is_set():
            first = self._next_event()
            if first is None:
                continue
            batch = [first]
            while len(batch) < 500:
                try:
                    batch.append(self._events.get_nowait())
                except queue.Empty:
                    break
            if _STOP in batch:
                self._stopping.set()
                batch = [event for event in batch if event is not _STOP]
            try:
                self._process(batch)
            except StoreUnavailable as exc:  # the database is away: keep the events, try again
                log.warning("the database failed (%s); retrying %d events", exc, len(batch))
                for execution_id in {event.execution_id for event in batch}:
                    self._active.pop(execution_id, None)
                if not self._stopping.wait(1.0):
                    for event in batch:
                        self._events.put(event)
            except Exception:  # the loop must survive; what was cached is re-read on next use
                ids = sorted({event.execution_id for event in batch})
                log.exception("executor step failed for %s", ids)
                for execution_id in ids:
                    self._active.pop(execution_id, None)
                if self.shared is not None:
                    self.shared.forget(event.taken for event in batch if event.taken)

    def _next_event(self) -> _Event | None:
        timeout = None
        if self._timers:
            timeout = max(0.0, (self._timers[0][0] - now()).total_seconds())
        try:
            event = self._events.get(timeout=timeout)
        except queue.Empty:
            event = None
        due = now()
        while self._timers and self._timers[0][0] <= due:
            self._events.put(heapq.heappop(self._timers)[2])
        return event

    def _process(self, batch: list[_Event]) -> None:
        grouped: dict[str, list[_Event]] = defaultdict(list)
        for event in batch:
            grouped[event.execution_id].append(event)
        outcomes: list[tuple[Execution, Effects, list[str]]] = []
        taken: list[str] = []
        with self.store.unit() as repos:
            if self.shared is not None:
                grouped = self._fence(repos, grouped)
            for execution_id, events in grouped.items():
                outcome = self._step(repos, execution_id, events)
                if outcome is not None:
                    outcomes.append(outcome)
            if self.shared is not None:
                taken = [e.taken for events in grouped.values() for e in events if e.taken]
                settle_taken(repos, taken)
        if self.shared is not None:
            self.shared.applied(taken)
        for execution, effects, kills in outcomes:
            self._act(execution, effects, kills)

    def _fence(
        self, repos: Repositories, grouped: dict[str, list[_Event]]
    ) -> dict[str, list[_Event]]:
        """The events of the executions this executor still holds, their leases renewed and
        locked for the step. The others were taken over (this executor ran too late to renew):
        their new holder reads them afresh, and takes again what was taken here."""
        assert self.shared is not None
        shared = self.shared
        mine = [execution_id for execution_id in grouped if shared.holds(execution_id)]
        held = repos.work.hold_executions(shared.owner, mine, self.settings.lease)
        for execution_id in set(grouped) - held:
            shared.discard(execution_id)
            self._active.pop(execution_id, None)
            shared.forget(e.taken for e in grouped[execution_id] if e.taken)
        return {i: events for i, events in grouped.items() if i in held}

    def _step(
        self, repos: Repositories, execution_id: str, events: list[_Event]
    ) -> tuple[Execution, Effects, list[str]] | None:
        if any(event.kind == "recover" for event in events):
            self._active.pop(execution_id, None)  # another executor may have advanced it
        execution = self._active.get(execution_id)
        if execution is None:
            execution = repos.executions.read_execution(execution_id)
            if execution is None:
                return None
        key = (execution.namespace, execution.flow_id, execution.flow_revision)
        flow = self._flow(repos, *key)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = FlowPlan.of(flow)
        step = Step(execution, flow, self.env, plan)
        was_terminal, was_over = execution.state.terminal, _over(execution)
        kills: list[str] = []
        for event in events:
            kills += self._apply(repos, step, flow, event)
        effects = step.advance()
        kills += step.kills
        if step.changed or step.execution_changed or effects.logs or step.removed:
            repos.executions.update_execution(execution, step.changed.values(), step.removed)
        if execution.state.terminal and not was_terminal:
            repos.triggers.record_end(execution.id)
        if effects.retry_in is not None:
            self._retry_as_new(repos, execution, now() + effects.retry_in)
        if self.shared is not None:
            self._share_effects(repos, execution, effects, was_over)
        if effects.logs:
            repos.logs.create_logs(effects.logs)
        return execution, effects, kills

    def _apply(self, repos: Repositories, step: Step, flow: Flow, event: _Event) -> list[str]:
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
                if child is not None and _over(child):
                    step.apply_subflow_ended(run_id, child)
        return []

    def _admit(self, repos: Repositories, step: Step, flow: Flow) -> None:
        """Apply the flow's concurrency limit to a new execution."""
        limit = flow.concurrency
        if limit is None or step.ex.state is not State.CREATED:
            return
        running = repos.executions.count_running(step.ex.namespace, step.ex.flow_id)
        if running < limit.limit:
            return
        target = {"QUEUE": State.QUEUED, "CANCEL": State.CANCELLED, "FAIL": State.FAILED}
        step.ex.transition(target[limit.behavior])
        step.execution_changed = True

    def _act(self, execution: Execution, effects: Effects, kills: list[str]) -> None:
        if self.shared is not None:
            if kills:
                with self.store.unit() as repos:
                    for run_id in kills:
                        repos.work.request_kill(run_id, result_to_json(killed_before_start(run_id)))
        elif self.worker is not None:
            for run_id in kills:
                self.worker.kill(run_id)
            for item in effects.dispatch:
                if not self._draining.is_set():
                    self.worker.submit(item, self._result_handler(item))
        for start in effects.subflows:
            self._start_subflow(execution, start)
        if effects.wake_at is not None:
            self._later(effects.wake_at, _Event(execution.id, "wake"))
        if _over(execution):
            self._active.pop(execution.id, None)
            if self.shared is None:
                self._after_end(execution)
            else:  # its parent and queue were told in the step's transaction
                self.shared.discard(execution.id)
        else:
            self._active[execution.id] = execution
        with self._done:
            self._done.notify_all()

    def _later(self, when: datetime, event: _Event) -> None:
        self._timer_count += 1
        heapq.heappush(self._timers, (when, self._timer_count, event))

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
        self._hold(repos, execution.id)
        self._events.put(_Event(execution.id, "start"))

    def _after_end(self, execution: Execution) -> None:
        if execution.parent is not None:
            parent = execution.parent
            self._route(
                _Event(parent.execution_id, "subflow_ended", (parent.task_run_id, execution))
            )
        with self.store.unit() as repos:
            queued = repos.executions.list_executions(
                execution.namespace, execution.flow_id, states=[State.QUEUED], limit=1000
            )
        if queued:
            self._route(_Event(queued[-1].id, "dequeue"))

    def _result_handler(self, item: WorkItem) -> Callable[[AttemptResult], None]:
        def handle(result: AttemptResult) -> None:
            seconds = (result.ended - result.started).total_seconds()
            self.stats.observe_attempt(item.task.type, seconds)
            self._events.put(_Event(item.execution_id, "result", result))

        return handle

    # -- subflows and flows ---------------------------------------------------------------------
    def _start_subflow(self, parent: Execution, start: SubflowStart) -> None:
        try:
            self._create_subflow(parent, start)
        except StoreUnavailable as exc:  # not the subflow's fault: start it when the store is back
            log.warning("starting a subflow of %s failed (%s); retrying", parent.id, exc)
            self._later(now() + SUBFLOW_RETRY, _Event(parent.id, "subflow_retry", start))

    def _create_subflow(self, parent: Execution, start: SubflowStart) -> None:
        ref = ParentRef(parent.id, start.parent_run_id, parent.namespace, parent.flow_id)
        labels = {**start.labels, "system.correlationId": parent.labels.get(
            "system.correlationId", parent.id
        )}  # fmt: skip
        key = f"subflow:{start.parent_run_id}"
        try:
            with self.store.unit() as repos:
                check_reach(repos, parent.namespace, start.namespace, "the flows")
                child = self._new_execution(
                    repos, start.namespace, start.flow_id, start.inputs, labels, None,
                    start.revision, ref, True,
                )  # fmt: skip
                if not repos.triggers.claim_fire(key, child.id):
                    raise _AlreadyFired
        except _AlreadyFired:  # created before (by an executor that lost the parent, or by a
            # transaction whose commit went through unanswered): it may still wait for its start
            with self.store.unit(read_only=True) as repos:
                child_id = repos.triggers.read_fire(key)
                known = repos.executions.read_execution(child_id) if child_id else None
            if child_id is not None:
                if known is not None and known.state is State.CREATED:
                    self._route(_Event(child_id, "start"))
                self._events.put(
                    _Event(
                        parent.id, "subflow_started", (start.parent_run_id, child_id, start.wait)
                    )
                )
            return
        except StoreUnavailable:
            raise
        except WeirError as exc:
            self._events.put(
                _Event(parent.id, "subflow_failed", (start.parent_run_id, exc.message))
            )
            return
        self._events.put(_Event(child.id, "start"))
        self._events.put(
            _Event(parent.id, "subflow_started", (start.parent_run_id, child.id, start.wait))
        )

    def _new_execution(
        self,
        repos: Repositories,
        namespace: str,
        flow_id: str,
        inputs: Mapping[str, Any],
        labels: Mapping[str, str],
        trigger: Mapping[str, Any] | None,
        revision: int | None,
        parent: ParentRef | None,
        coerce_inputs: bool,
    ) -> Execution:
        record = repos.flows.read_flow(namespace, flow_id, revision)
        if record is None:
            raise FlowNotFound(f"flow {namespace}/{flow_id} does not exist")
        flow = self._parse(record)
        execution_id = new_id()
        typed = (
            resolve_inputs(flow, inputs, self.renderer, {"flow": {"id": flow_id}},
                           self._file_saver(namespace, flow_id, execution_id))
            if coerce_inputs
            else dict(inputs)
        )  # fmt: skip
        execution = Execution(
            id=execution_id,
            namespace=namespace,
            flow_id=flow_id,
            flow_revision=record.revision,
            inputs=typed,
            labels={**flow.labels, **labels},
            trigger=dict(trigger) if trigger else None,
            parent=parent,
        )
        execution.labels.setdefault("system.correlationId", execution.id)
        repos.executions.create_execution(execution)
        if self.settings.remote:
            repos.work.create_lease(execution.id, None, self.settings.lease)
        else:
            self._hold(repos, execution.id)
        return execution

    # -- sharing the database with other executors and workers ------------------------------------
    def _hold(self, repos: Repositories, execution_id: str) -> None:
        """An execution this executor creates is its own from the start."""
        if self.shared is not None:
            repos.work.create_lease(execution_id, self.shared.owner, self.settings.lease)
            self.shared.add(execution_id)

    def _share_effects(
        self,
        repos: Repositories,
        execution: Execution,
        effects: Effects,
        was_over: bool,
    ) -> None:
        """In the step's transaction: queue its attempts, and, once it is over, tell its parent
        and the next queued execution (whichever executor holds them) and let go of it."""
        repos.work.enqueue_work([queued_work(item) for item in effects.dispatch])
        effects.dispatch.clear()
        if not _over(execution) or was_over:
            return
        repos.work.delete_lease(execution.id)
        if execution.parent is not None:
            parent = execution.parent
            repos.commands.create_command(
                parent.execution_id, "subflow_ended", [parent.task_run_id, execution.to_dict()]
            )
        queued = repos.executions.list_executions(
            execution.namespace, execution.flow_id, states=[State.QUEUED], limit=1000
        )
        if queued:
            repos.commands.create_command(queued[-1].id, "dequeue")

    def _deliver(self, execution_id: str, kind: str, payload: Any, taken: str | None) -> None:
        self._events.put(_command_event(execution_id, kind, payload, taken))

    def _release(self) -> None:
        assert self.shared is not None
        try:
            with self.store.unit() as repos:
                repos.work.release_executions(self.shared.owner)
        except StoreUnavailable:
            log.warning("could not hand back executions; they return when their lease ends")

    def _file_saver(
        self, namespace: str, flow_id: str, execution_id: str
    ) -> Callable[[str, bytes], str]:
        prefix = execution_storage_path(namespace, flow_id, execution_id) + "inputs"

        def save(input_id: str, data: bytes) -> str:
            return self.store.files.put(f"{prefix}/{input_id}/{input_id}", data)

        return save

    def _flow(self, repos: Repositories, namespace: str, flow_id: str, revision: int) -> Flow:
        key = (namespace, flow_id, revision)
        flow = self._flows.get(key)
        if flow is None:
            record = repos.flows.read_flow(namespace, flow_id, revision)
            if record is None:
                raise FlowNotFound(f"flow {namespace}/{flow_id} revision {revision} is gone")
            flow = self._parse(record)
        return flow

    def _parse(self, record: FlowRecord) -> Flow:
        key = (record.namespace, record.flow_id, record.revision)
        flow = self._flows.get(key)
        if flow is None:
            result = validate_text(record.source, f"{record.namespace}/{record.flow_id}")
            if result.flow is None:
                raise FlowInvalid(result.problems)
            flow = result.flow
            self._flows[key] = flow
        return flow

    def _stored(self, execution_id: str) -> Execution:
        with self.store.unit(read_only=True) as repos:
            execution = repos.executions.read_execution(execution_id)
        if execution is None:
            raise ExecutionNotFound(f"execution {execution_id} does not exist")
        return execution

    def _require(self, execution_id: str) -> Execution:
        return self._active.get(execution_id) or self._stored(execution_id)


_STOP = _Event("", "stop")
SUBFLOW_RETRY = timedelta(seconds=1)
"""How long after the database failed to start a subflow the start is tried again."""


def _command_event(execution_id: str, kind: str, payload: Any, taken: str | None) -> _Event:
    if kind == "subflow_ended":
        run_id, child = payload
        payload = (run_id, Execution.from_dict(child))
    return _Event(execution_id, kind, payload, taken)


class _AlreadyFired(Exception):
    """Rolls back the execution of a firing that happened already."""


def _over(execution: Execution) -> bool:
    return execution.state.terminal and all(r.state.terminal for r in execution.task_runs)
