"""What a user asks of executions (create, fire, kill, resume, restart, read, wait), whatever
advances them: ``Engine`` applies the commands in its own loop, ``RemoteCommands`` records them
for the executors in other processes. Both create executions here, the same way."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from controlplane.engine.events import Event, over
from controlplane.engine.flowcache import flow_cache
from controlplane.engine.inputs import resolve_inputs
from controlplane.engine.model import Execution, ParentRef, State, new_id, now
from controlplane.engine.ports import Repositories, Store, execution_storage_path
from controlplane.engine.rules import require_command
from controlplane.engine.stats import EngineStats
from controlplane.errors import WeirError
from controlplane.expr import Renderer


class FlowNotFound(WeirError):
    code = "flow_not_found"


class ExecutionNotFound(WeirError):
    code = "execution_not_found"


@dataclass(frozen=True)
class EngineSettings:
    work_root: Path
    envs: Mapping[str, str] = field(default_factory=dict)
    """``envs.<name>`` in expressions."""
    globals: Mapping[str, Any] = field(default_factory=dict)
    """``globals.<name>`` in expressions: server-wide variables from configuration."""
    executor_id: str | None = None
    """Set on one of many executors sharing a database (``weir server executor``): the engine
    advances only the executions it holds a lease on, queues attempts in the database for
    workers in other processes, and takes commands and results for what it holds."""
    lease: timedelta = timedelta(seconds=20)
    """How long a held execution stays an executor's without a renewal."""
    poll: float = 0.05
    """Seconds between two looks at the database for commands, results and executions to take."""


class AlreadyFired(Exception):
    """Rolls back the execution of a firing that happened already."""


@dataclass(frozen=True)
class Firing:
    """One firing of a trigger: a Schedule's slot, an upstream execution's end."""

    key: str
    """Unique per firing: whichever process claims it first creates the execution."""
    namespace: str
    flow_id: str
    inputs: Mapping[str, Any]
    labels: Mapping[str, str]
    trigger: Mapping[str, Any]
    execution_id: str | None = None
    """The id the execution gets, when the trigger chose it first (to store files under it)."""


class Commands:
    """The commands on executions; a subclass says how a command reaches what advances them."""

    def __init__(self, store: Store, settings: EngineSettings) -> None:
        self.store = store
        self.settings = settings
        self.renderer = Renderer()
        self.flows = flow_cache(store)
        self.stats = EngineStats()
        """Attempt durations of the attempts run in this process."""
        self._done = threading.Condition()
        """Notified whenever an execution this process advances has changed."""

    @property
    def running(self) -> bool:
        """Whether an executor loop runs in this process."""
        return False

    @property
    def queue_depth(self) -> int:
        """Events waiting for this process's executor loop, and timers set."""
        return 0

    # -- how a command reaches what advances executions ------------------------------------------
    def _hold(self, repos: Repositories, execution_id: str) -> None:
        """In the transaction that creates the execution: say who advances it."""

    def _created(self, repos: Repositories, execution: Execution) -> None:
        """In the transaction that creates the execution: have it started."""

    def _started(self, execution: Execution) -> None:
        """Once the execution's creation has committed: have it started."""

    def _send(self, event: Event) -> None:
        raise NotImplementedError

    def _cached(self, execution_id: str) -> Execution | None:
        """The execution as this process last advanced it, if it does."""
        return None

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
            execution = self.new_execution(
                repos, namespace, flow_id, inputs or {}, labels or {}, trigger, revision, parent,
                coerce_inputs,
            )  # fmt: skip
            self._created(repos, execution)
        self._started(execution)
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
        firing = Firing(key, namespace, flow_id, inputs or {}, labels or {}, trigger or {})
        (answer,) = self.fire_all([firing])
        if isinstance(answer, WeirError):
            raise answer
        return answer

    def fire_all(self, firings: Sequence[Firing]) -> list[Execution | WeirError | None]:
        """``fire`` for many firings in one transaction. Each answer (in the order of
        ``firings``) is the execution created, None when the firing's key created one already,
        or the error that kept it from being created; one firing's error leaves the others be.

        The keys are claimed in their sorted order, so two processes firing the same keys wait
        on each other instead of deadlocking; the one that waited finds a key taken, rolls back
        and tries again, looking first this time for the keys taken, which it skips."""
        order = sorted(range(len(firings)), key=lambda n: firings[n].key)
        look_first = False  # a key is rarely taken: the first try claims without a look
        while True:
            answers: list[Execution | WeirError | None] = [None] * len(firings)
            try:
                with self.store.unit() as repos:
                    for n in order:
                        answers[n] = self._fire_one(repos, firings[n], look_first)
            except AlreadyFired:
                look_first = True
                continue
            break
        for answer in answers:
            if isinstance(answer, Execution):
                self._started(answer)
        return answers

    def _fire_one(
        self, repos: Repositories, firing: Firing, look_first: bool
    ) -> Execution | WeirError | None:
        if look_first and repos.triggers.read_fire(firing.key) is not None:
            return None
        try:
            execution = self.new_execution(
                repos, firing.namespace, firing.flow_id, firing.inputs, firing.labels,
                firing.trigger, None, None, True, firing.execution_id,
            )  # fmt: skip
        except WeirError as exc:  # raised before anything is written
            return exc
        if not repos.triggers.claim_fire(firing.key, execution.id):
            raise AlreadyFired
        self._created(repos, execution)
        return execution

    def kill(self, execution_id: str) -> None:
        """Kill an execution; TransitionRefused when it already ended."""
        require_command(self._require(execution_id), State.KILLING)
        self._send(Event(execution_id, "kill"))

    def resume(self, execution_id: str, inputs: Mapping[str, Any] | None = None) -> None:
        """Resume a paused execution; TransitionRefused when it is not paused."""
        require_command(self._require(execution_id), State.RUNNING)
        self._send(Event(execution_id, "resume", dict(inputs or {})))

    def restart(self, execution_id: str) -> None:
        """Run a failed execution again from its failed tasks (same execution id)."""
        require_command(self._require(execution_id), State.RESTARTED)
        self._send(Event(execution_id, "restart"))

    def read(self, execution_id: str) -> Execution:
        return self._require(execution_id)

    def wait(
        self, execution_id: str, timeout: float | None = None, until: frozenset[State] | None = None
    ) -> Execution:
        """Block until the execution is over (or in one of ``until``); returns its state then."""
        deadline = None if timeout is None else now().timestamp() + timeout
        with self._done:
            while True:
                cached = self._cached(execution_id)
                execution = cached or self._stored(execution_id)
                if over(execution) or (until is not None and execution.state in until):
                    # The cached object changes before its step commits: answer what is stored.
                    stored = self._stored(execution_id) if cached is not None else execution
                    if over(stored) or (until is not None and stored.state in until):
                        return stored
                remaining = None if deadline is None else deadline - now().timestamp()
                if remaining is not None and remaining <= 0:
                    return execution
                self._done.wait(timeout=min(remaining or 0.5, 0.5))

    # -- creating executions --------------------------------------------------------------------
    def new_execution(
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
        execution_id: str | None = None,
    ) -> Execution:
        """Create the execution of the flow's revision (the latest when None) in ``repos``,
        with a new id unless ``execution_id`` is given."""
        record = repos.flows.read_flow(namespace, flow_id, revision)
        if record is None:
            raise FlowNotFound(f"flow {namespace}/{flow_id} does not exist")
        flow = self.flows.parse(record)
        execution_id = execution_id or new_id()
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
        self._hold(repos, execution.id)
        return execution

    def _file_saver(
        self, namespace: str, flow_id: str, execution_id: str
    ) -> Callable[[str, bytes], str]:
        prefix = execution_storage_path(namespace, flow_id, execution_id) + "inputs"

        def save(input_id: str, data: bytes) -> str:
            return self.store.files.put(f"{prefix}/{input_id}/{input_id}", data)

        return save

    def _stored(self, execution_id: str) -> Execution:
        with self.store.unit(read_only=True) as repos:
            execution = repos.executions.read_execution(execution_id)
        if execution is None:
            raise ExecutionNotFound(f"execution {execution_id} does not exist")
        return execution

    def _require(self, execution_id: str) -> Execution:
        return self._cached(execution_id) or self._stored(execution_id)
