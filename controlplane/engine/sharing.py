"""What an executor sharing the database keeps apart from the engine's loop: the executions it
holds by lease and the results it has taken, and the records it writes for workers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, Protocol

from controlplane.engine.model import State, now
from controlplane.engine.ports import QueuedWork, Store
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
    """What an executor sharing the database holds: executions by lease, and the results it
    has taken but not yet applied."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._held: dict[str, int] = {}
        """Held execution ids, each with the renewal round in which it was taken."""
        self._round = 0
        self._results: set[str] = set()
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

    def renewed(self, execution_ids: set[str], round_: int) -> None:
        """Keep what the database says this executor holds, and what it took since ``round_``
        began (in transactions the renewal could not see yet)."""
        with self._lock:
            self._held = {i: r for i, r in self._held.items() if i in execution_ids or r >= round_}

    def drop_all(self) -> None:
        """Advance nothing more: the leases may lapse and others take over."""
        with self._lock:
            self._held.clear()
            self._results.clear()

    def take_result(self, work_id: str) -> bool:
        """True the first time: a result is applied once even though it stays in the database
        until the step that applies it commits."""
        with self._lock:
            if work_id in self._results:
                return False
            self._results.add(work_id)
            return True

    def forget_result(self, work_id: str) -> None:
        """Its step did not commit: take it again."""
        with self._lock:
            self._results.discard(work_id)


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
    deliver: Callable[[str, str, Any], None],
) -> None:
    """Every ``settings.poll`` seconds until ``stopping``: renew and take execution leases, take
    the commands and results for what is held, and settle attempts whose worker is gone; hand
    each to the executor's loop as (execution id, kind, payload)."""
    lease = settings.lease
    lost = result_to_json(lost_worker())
    renewed = now()
    while not stopping.wait(settings.poll):
        try:
            with store.unit() as repos:
                if (now() - renewed) > lease / 4:
                    round_ = shared.next_round()
                    shared.renewed(repos.work.renew_executions(shared.owner, lease), round_)
                    renewed = now()
                    repos.work.expire_work(lost)
                claimed = repos.work.claim_executions(shared.owner, 200, lease)
                shared.update(execution_id for execution_id, _ in claimed)
                commands = repos.commands.take_commands(500, owner=shared.owner)
                results = [
                    r for r in repos.work.take_results(shared.owner) if shared.take_result(r.id)
                ]
        except Exception as exc:  # the database may be away for a while; try again
            log.warning("sharing with the database failed (%s); retrying", exc)
            if now() - renewed > lease * 0.8:
                shared.drop_all()  # others may take over soon: advance nothing
            continue
        for execution_id, previous in claimed:
            if previous is not None:  # its executor stopped or died: read it afresh
                deliver(execution_id, "recover", None)
        for execution_id, kind, payload in commands:
            deliver(execution_id, kind, payload)
        for taken in results:
            result = result_from_json(taken.result)
            deliver(taken.execution_id, "queued_result", (taken.id, result))
