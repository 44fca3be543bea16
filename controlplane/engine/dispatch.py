"""How an engine's decisions leave its loop, one object per run mode.

``Dispatch`` is what the loop needs of a run mode: where attempts go, how an event for another
execution reaches it, what a step writes besides the execution, and what is kept or let go when
a step commits or fails. ``LocalDispatch`` is the standalone mode: attempts go to a worker pool in
this process and every event to this loop. ``SharedDispatch`` (``sharing.py``) is one executor
of many on a shared database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from controlplane.engine.events import Event
from controlplane.engine.executor import Effects
from controlplane.engine.model import Execution
from controlplane.engine.ports import Repositories, Store
from controlplane.engine.stats import EngineStats
from controlplane.engine.work import AttemptResult, WorkItem

Deliver = Callable[[Event], None]
"""Puts an event on the engine's loop."""


class WorkerPort(Protocol):
    def submit(self, item: WorkItem, on_done: Callable[[AttemptResult], None]) -> None: ...

    def kill(self, task_run_id: str) -> bool: ...

    def shutdown(self, grace_seconds: float) -> None: ...


class Dispatch:
    """What every run mode does alike; a mode overrides what it does its own way."""

    def __init__(self, store: Store, deliver: Deliver) -> None:
        self.store = store
        self.deliver = deliver
        self.draining = threading.Event()
        """Set when the engine stops: no new work goes out."""

    def start(self) -> None:
        """The loop runs: hand it what was left unfinished."""

    def drain(self, grace_seconds: float) -> None:
        """Before the loop stops: hand out no new work, and let running attempts end."""
        self.draining.set()

    def release(self) -> None:
        """After the loop stopped."""

    def hold(self, repos: Repositories, execution_id: str) -> None:
        """In the transaction that creates an execution this engine advances."""

    def route(self, event: Event) -> None:
        """To the loop that advances the event's execution."""
        self.deliver(event)

    def fence(self, repos: Repositories, grouped: dict[str, list[Event]]) -> dict[str, list[Event]]:
        """In a step's transaction: the events of the executions this engine may advance."""
        return grouped

    def stepped(self, repos: Repositories, execution: Execution, effects: Effects) -> None:
        """In a step's transaction, once the execution is written."""

    def ended(self, repos: Repositories, execution: Execution, notices: list[Event]) -> list[Event]:
        """In the transaction that ends the execution, with the events for its parent and the
        next queued execution of its flow; returns those to route once it commits."""
        return notices

    def relay(self, repos: Repositories, events: list[Event]) -> list[Event]:
        """In a step's transaction, with the commands its tasks sent to executions (a resume,
        a kill); returns those to route once it commits."""
        return events

    def settle(self, repos: Repositories, events: list[Event]) -> list[str]:
        """In a step's transaction: remove the database rows its events came from; returns
        their keys."""
        return []

    def committed(self, keys: list[str]) -> None:
        """The step whose rows are ``keys`` committed."""

    def failed(self, events: list[Event]) -> None:
        """The step of ``events`` will not commit, and the events are not tried again here."""

    def act(self, execution: Execution, effects: Effects, kills: list[str]) -> None:
        """Once the step committed: send its attempts out and stop the runs in ``kills``."""

    def forget(self, execution_id: str) -> None:
        """The execution is over: this engine no longer advances it."""


class LocalDispatch(Dispatch):
    """Standalone: attempts go to a worker pool in this process, every event to this loop."""

    def __init__(
        self, store: Store, deliver: Deliver, worker: WorkerPort, stats: EngineStats
    ) -> None:
        super().__init__(store, deliver)
        self.worker = worker
        self.stats = stats

    def start(self) -> None:
        with self.store.unit() as repos:
            unfinished = repos.executions.list_unfinished_execution_ids()
        for execution_id in unfinished:
            self.deliver(Event(execution_id, "recover"))

    def drain(self, grace_seconds: float) -> None:
        super().drain(grace_seconds)
        self.worker.shutdown(grace_seconds)

    def act(self, execution: Execution, effects: Effects, kills: list[str]) -> None:
        for run_id in kills:
            self.worker.kill(run_id)
        for item in effects.dispatch:
            if not self.draining.is_set():
                self.worker.submit(item, self._result_handler(item))

    def _result_handler(self, item: WorkItem) -> Callable[[AttemptResult], None]:
        def handle(result: AttemptResult) -> None:
            seconds = (result.ended - result.started).total_seconds()
            self.stats.observe_attempt(item.task.type, seconds)
            self.deliver(Event(item.execution_id, "result", result))

        return handle
