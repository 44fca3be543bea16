"""The storage that executors and workers in other processes share: the work queue (attempts
for workers, and their results) and the executors' leases on unfinished executions. Declared as
Protocols, like ``ports``; ``controlplane.store`` implements them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol


@dataclass(frozen=True)
class QueuedWork:
    """An attempt for a worker in another process; ``payload`` is the work item as JSON."""

    execution_id: str
    task_run_id: str
    attempt: int
    worker_group: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class ClaimedWork:
    id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class WorkResult:
    id: str
    execution_id: str
    result: dict[str, Any]
    """The attempt's result as JSON."""


class WorkRepository(Protocol):
    """The queue between executors and workers in other processes. Claims skip rows another
    transaction holds."""

    def enqueue_work(self, items: Sequence[QueuedWork]) -> None:
        """Queue each attempt once: an attempt already queued (same run and number) stays."""

    def claim_work(
        self, owner: str, group: str | None, limit: int, lease: timedelta
    ) -> list[ClaimedWork]:
        """Up to ``limit`` queued attempts of worker group ``group`` (None: no group), oldest
        first, now held by ``owner`` until the lease runs out."""

    def renew_work(
        self, owner: str, ids: Sequence[str], lease: timedelta
    ) -> tuple[set[str], set[str]]: ...

    def complete_work(self, work_id: str, owner: str, result: dict[str, Any]) -> bool:
        """Record the result; False (nothing written) when ``owner`` no longer holds it."""

    def expire_work(self, result: dict[str, Any], limit: int = 100) -> list[str]: ...

    def request_kill(self, task_run_id: str, result: dict[str, Any]) -> None: ...

    def take_results(self, owner: str, limit: int = 500) -> list[WorkResult]: ...

    def delete_work(self, ids: Sequence[str]) -> None: ...

    def count_work(self) -> dict[str, int]:
        """Attempts by queue state (queued, running, done)."""


class LeaseRepository(Protocol):
    """Which executor holds each unfinished execution, until its lease runs out. Claims skip
    rows another transaction holds."""

    def create_lease(self, execution_id: str, owner: str | None, lease: timedelta) -> None:
        """``owner`` None: any executor may take it."""

    def adopt_unleased(self) -> int: ...

    def claim_executions(
        self, owner: str, limit: int, lease: timedelta
    ) -> list[tuple[str, str | None]]: ...

    def renew_executions(self, owner: str, lease: timedelta) -> set[str]: ...

    def hold_executions(self, owner: str, ids: Sequence[str], lease: timedelta) -> set[str]:
        """Of ``ids``, those ``owner`` still holds, renewed and locked until the transaction
        ends: a step advances only these."""

    def release_executions(self, owner: str) -> None:
        """Let other executors take over at once what ``owner`` holds."""

    def delete_lease(self, execution_id: str) -> None: ...
