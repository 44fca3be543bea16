"""One executor of many on a shared database: the executions it holds by lease, the results and
commands it has taken, the attempts it queues for workers in other processes, and the poller that
keeps its leases and brings it what the database holds for it.

``SharedDispatch`` is this run mode as the engine's loop sees it (see ``dispatch.py``): it
advances only the executions it holds a lease on, and queues attempts in the same transaction as
the step that decided them; workers in other processes claim them, and their results come back
through the database. An executor that dies lets its leases lapse; another takes its executions
over and reads them afresh."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, Protocol

from controlplane.engine.dispatch import Deliver, Dispatch
from controlplane.engine.events import Event, command_event, record_command
from controlplane.engine.executor import Effects
from controlplane.engine.model import Execution, State, now
from controlplane.engine.ports import Repositories, Store, StoreUnavailable
from controlplane.engine.queueports import QueuedWork
from controlplane.engine.work import (
    AttemptResult,
    WorkItem,
    item_to_json,
    result_from_json,
    result_to_json,
)

log = logging.getLogger(__name__)


class ShareSettings(Protocol):
    @property
    def lease(self) -> timedelta: ...

    @property
    def poll(self) -> float: ...


class SharedState:
    """What an executor sharing the database holds: executions by lease, and the rows (results,
    commands) it has taken but not yet applied."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._held: dict[str, int] = {}
        """Held execution ids, each with the renewal round in which it was taken."""
        self._round = 0
        self._taken: set[str] = set()
        self._applied: list[str] = []
        """Keys of rows deleted by steps that committed since the current poll began."""
        self._lock = threading.Lock()

    def holds(self, execution_id: str) -> bool:
        with self._lock:
            return execution_id in self._held

    def add(self, execution_id: str) -> None:
        with self._lock:
            self._held[execution_id] = self._round

    def update(self, execution_ids: Iterable[str]) -> None:
        with self._lock:
            for execution_id in execution_ids:
                self._held[execution_id] = self._round

    def discard(self, execution_id: str) -> None:
        with self._lock:
            self._held.pop(execution_id, None)

    def next_round(self) -> int:
        """Start a renewal: what is taken from now on is kept whatever the renewal reads."""
        with self._lock:
            self._round += 1
            return self._round

    def renewed(self, execution_ids: set[str], round_: int) -> tuple[list[str], list[str]]:
        """Hold what the database says this executor holds, and what it took since ``round_``
        began (in transactions the renewal could not see yet); returns what it lost (another
        executor took it over while this one renewed too late) and what it found (taken in a
        transaction that ended after an earlier renewal had read, and dropped then)."""
        with self._lock:
            lost = [i for i, r in self._held.items() if i not in execution_ids and r < round_]
            for execution_id in lost:
                del self._held[execution_id]
            found = [i for i in execution_ids if i not in self._held]
            for execution_id in found:
                self._held[execution_id] = round_
            return lost, found

    def take(self, key: str) -> bool:
        """True the first time: a result or command is applied once even though it stays in
        the database until the step that applies it commits."""
        with self._lock:
            if key in self._taken:
                return False
            self._taken.add(key)
            return True

    def forget(self, keys: Iterable[str]) -> None:
        """Their step did not commit: take them again (if this executor still holds them)."""
        with self._lock:
            self._taken.difference_update(keys)

    def applied(self, keys: list[str]) -> None:
        """Their step committed: the rows are gone, so their keys need not be kept for long."""
        with self._lock:
            self._applied.extend(keys)

    def next_poll(self) -> None:
        """A poll begins: forget the keys of rows deleted before it (no read of this poll can
        return them; a read of the previous one could, and was filtered already)."""
        with self._lock:
            self._taken.difference_update(self._applied)
            self._applied.clear()


class Pulse:
    """Whether this executor has kept time long enough to judge other processes' leases.

    On a loaded machine every process runs late alike, and while the database is away nobody
    renews: an executor that itself could not poll on time gives the workers a whole lease of
    its own punctual polling to renew before it settles their attempts as lost."""

    def __init__(self, lease: timedelta) -> None:
        self._late = lease.total_seconds() / 4
        self._lease = lease.total_seconds()
        self._last = time.monotonic()
        self._steady_since = self._last

    def beat(self) -> None:
        """A poll went through."""
        moment = time.monotonic()
        if moment - self._last > self._late:
            self._steady_since = moment
        self._last = moment

    def steady(self) -> bool:
        """This poll is on time, and so were those of the last whole lease."""
        moment = time.monotonic()
        return moment - self._last <= self._late and moment - self._steady_since >= self._lease


def taken_key(kind: str, ident: object) -> str:
    """The key of a row an event came from: ("work", id) or ("command", seq)."""
    return f"{kind}:{ident}"


def settle_taken(repos: Repositories, keys: Iterable[str]) -> None:
    """In the step's transaction: remove the results and commands it applied."""
    work: list[str] = []
    commands: list[int] = []
    for key in keys:
        kind, _, ident = key.partition(":")
        if kind == "work":
            work.append(ident)
        else:
            commands.append(int(ident))
    repos.work.delete_work(work)
    repos.commands.delete_commands(commands)


def queued_work(item: WorkItem) -> QueuedWork:
    group = item.task.workerGroup.key if item.task.workerGroup is not None else None
    return QueuedWork(item.execution_id, item.task_run_id, item.attempt, group, item_to_json(item))


def lost_worker() -> AttemptResult:
    moment = now()
    return AttemptResult(
        task_run_id="",
        attempt=0,
        state=State.FAILED,
        started=moment,
        ended=moment,
        error="The worker running this task stopped renewing its lease (it stopped or died)",
    )


def killed_before_start(task_run_id: str) -> AttemptResult:
    moment = now()
    return AttemptResult(
        task_run_id, 0, State.KILLED, moment, moment, error="The task was killed before it started"
    )


def share(
    store: Store,
    shared: SharedState,
    settings: ShareSettings,
    stopping: threading.Event,
    deliver: Callable[[str, str, Any, str | None], None],
) -> None:
    """Every ``settings.poll`` seconds until ``stopping``: renew and take execution leases, take
    the commands and results for what is held, and settle attempts whose worker is gone; hand
    each to the executor's loop as (execution id, kind, payload, key of the row taken).

    Nothing here is dropped when the database is away or this process runs late: every step
    checks in its own transaction that the lease is still this executor's (``hold_executions``),
    so a late executor renews and carries on with what it still holds, and what another took
    over is read afresh by that one."""
    lease = settings.lease
    quarter = lease.total_seconds() / 4
    lost = result_to_json(lost_worker())
    pulse = Pulse(lease)
    renewed = time.monotonic()
    while not stopping.wait(settings.poll):
        shared.next_poll()
        started = time.monotonic()
        due = started - renewed > quarter
        gone: list[str] = []
        found: list[str] = []
        try:
            with store.unit() as repos:
                if due:
                    round_ = shared.next_round()
                    mine = repos.leases.renew_executions(shared.owner, lease)
                    gone, found = shared.renewed(mine, round_)
                    if pulse.steady():
                        repos.work.expire_work(lost)
                claimed = repos.leases.claim_executions(shared.owner, 200, lease)
                shared.update(execution_id for execution_id, _ in claimed)
                commands = repos.commands.take_commands(500, owner=shared.owner)
                results = repos.work.take_results(shared.owner)
        except Exception as exc:  # the database may be away for a while; try again
            log.warning("sharing with the database failed (%s); retrying", exc)
            continue
        if due:
            renewed = started
        pulse.beat()
        for execution_id in gone:  # taken over by another: forget what was cached
            deliver(execution_id, "lost", None, None)
        for execution_id in found:  # nobody advanced it meanwhile: carry on from the database
            deliver(execution_id, "recover", None, None)
        for execution_id, previous in claimed:
            if previous is not None:  # its executor stopped or died: read it afresh
                deliver(execution_id, "recover", None, None)
        for command in commands:
            key = taken_key("command", command.seq)
            if shared.take(key):
                deliver(command.execution_id, command.kind, command.payload, key)
        for taken in results:
            key = taken_key("work", taken.id)
            if shared.take(key):
                result = result_from_json(taken.result)
                deliver(taken.execution_id, "queued_result", (taken.id, result), key)


class SharedDispatch(Dispatch):
    def __init__(self, store: Store, deliver: Deliver, settings: ShareSettings, owner: str) -> None:
        super().__init__(store, deliver)
        self.settings = settings
        self.shared = SharedState(owner)
        self._poller: threading.Thread | None = None

    @property
    def owner(self) -> str:
        return self.shared.owner

    def start(self) -> None:
        with self.store.unit() as repos:
            repos.leases.adopt_unleased()
        self._poller = threading.Thread(
            target=share,
            args=(self.store, self.shared, self.settings, self.draining, self._deliver_row),
            name="weir-share",
            daemon=True,
        )
        self._poller.start()

    def drain(self, grace_seconds: float) -> None:
        super().drain(grace_seconds)
        if self._poller is not None:
            self._poller.join(timeout=5)
            self._poller = None

    def release(self) -> None:
        try:
            with self.store.unit() as repos:
                repos.leases.release_executions(self.owner)
        except StoreUnavailable:
            log.warning("could not hand back executions; they return when their lease ends")

    def hold(self, repos: Repositories, execution_id: str) -> None:
        """An execution this executor creates is its own from the start."""
        repos.leases.create_lease(execution_id, self.owner, self.settings.lease)
        self.shared.add(execution_id)

    def route(self, event: Event) -> None:
        """To this executor's loop, or, for an execution another executor holds, through the
        database."""
        if self.shared.holds(event.execution_id):
            self.deliver(event)
            return
        with self.store.unit() as repos:
            record_command(repos, event, self.settings.lease)

    def fence(self, repos: Repositories, grouped: dict[str, list[Event]]) -> dict[str, list[Event]]:
        """The events of the executions this executor still holds, their leases renewed and
        locked for the step. The others were taken over (this executor ran too late to renew):
        their new holder reads them afresh, and takes again what was taken here."""
        shared = self.shared
        mine = [execution_id for execution_id in grouped if shared.holds(execution_id)]
        held = repos.leases.hold_executions(shared.owner, mine, self.settings.lease)
        for execution_id in set(grouped) - held:
            shared.discard(execution_id)
            shared.forget(e.taken for e in grouped[execution_id] if e.taken)
        return {i: events for i, events in grouped.items() if i in held}

    def stepped(self, repos: Repositories, execution: Execution, effects: Effects) -> None:
        """Queue the step's attempts in its own transaction."""
        repos.work.enqueue_work([queued_work(item) for item in effects.dispatch])
        effects.dispatch.clear()

    def ended(self, repos: Repositories, execution: Execution, notices: list[Event]) -> list[Event]:
        """Let go of the execution, and tell its parent and the next queued execution, whichever
        executor holds them, in the step's transaction."""
        repos.leases.delete_lease(execution.id)
        for event in notices:
            record_command(repos, event, self.settings.lease)
        return []

    def relay(self, repos: Repositories, events: list[Event]) -> list[Event]:
        """Record the commands for whichever executor holds each execution."""
        for event in events:
            record_command(repos, event, self.settings.lease)
        return []

    def settle(self, repos: Repositories, events: list[Event]) -> list[str]:
        keys = [event.taken for event in events if event.taken]
        settle_taken(repos, keys)
        return keys

    def committed(self, keys: list[str]) -> None:
        self.shared.applied(keys)

    def failed(self, events: list[Event]) -> None:
        self.shared.forget(event.taken for event in events if event.taken)

    def act(self, execution: Execution, effects: Effects, kills: list[str]) -> None:
        if not kills:
            return
        with self.store.unit() as repos:
            for run_id in kills:
                repos.work.request_kill(run_id, result_to_json(killed_before_start(run_id)))

    def forget(self, execution_id: str) -> None:
        self.shared.discard(execution_id)

    def _deliver_row(self, execution_id: str, kind: str, payload: Any, taken: str | None) -> None:
        self.deliver(command_event(execution_id, kind, payload, taken))
