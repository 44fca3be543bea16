"""The work queue and the execution leases that let executors and workers run as many processes.

A worker claims queued attempts with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite has one writer
at a time, so a plain claim is already exclusive) and holds each under a lease it renews. A result
is accepted only from the worker that still holds the lease, so a worker thought dead cannot
report after its attempt was handed back. Executors share unfinished executions the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from controlplane.engine.model import TERMINAL, now
from controlplane.engine.queueports import ClaimedWork, QueuedWork, WorkResult
from controlplane.store.tables import EXECUTION_LEASES, EXECUTIONS, WORK_QUEUE

QUEUED, RUNNING, DONE = "queued", "running", "done"


class SqlWorkRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def _insert(self) -> Any:
        return pg_insert if self._db.dialect.name == "postgresql" else sqlite_insert

    def _locked(self, query: Any) -> Any:
        if self._db.dialect.name == "postgresql":
            return query.with_for_update(skip_locked=True)
        return query

    # -- work ---------------------------------------------------------------------------------
    def enqueue_work(self, items: Sequence[QueuedWork]) -> None:
        if not items:
            return
        moment = now()
        rows = [
            {
                "id": f"{item.task_run_id}:{item.attempt}",
                "execution_id": item.execution_id,
                "task_run_id": item.task_run_id,
                "attempt": item.attempt,
                "worker_group": item.worker_group,
                "state": QUEUED,
                "kill": False,
                "payload": item.payload,
                "created": moment,
            }
            for item in items
        ]
        self._db.execute(self._insert()(WORK_QUEUE).values(rows).on_conflict_do_nothing())

    def claim_work(
        self, owner: str, group: str | None, limit: int, lease: timedelta
    ) -> list[ClaimedWork]:
        same_group = (
            WORK_QUEUE.c.worker_group.is_(None)
            if group is None
            else WORK_QUEUE.c.worker_group == group
        )
        query = self._locked(
            select(WORK_QUEUE.c.id, WORK_QUEUE.c.payload)
            .where(WORK_QUEUE.c.state == QUEUED, same_group)
            .order_by(WORK_QUEUE.c.created)
            .limit(limit)
        )
        rows = self._db.execute(query).all()
        if not rows:
            return []
        self._db.execute(
            update(WORK_QUEUE)
            .where(WORK_QUEUE.c.id.in_([row.id for row in rows]), WORK_QUEUE.c.state == QUEUED)
            .values(state=RUNNING, owner=owner, lease_until=now() + lease)
        )
        return [ClaimedWork(row.id, dict(row.payload)) for row in rows]

    def renew_work(
        self, owner: str, ids: Sequence[str], lease: timedelta
    ) -> tuple[set[str], set[str]]:
        """Extend the leases of ``ids`` that ``owner`` still holds; returns (held, to kill)."""
        if not ids:
            return set(), set()
        mine = and_(
            WORK_QUEUE.c.id.in_(list(ids)),
            WORK_QUEUE.c.owner == owner,
            WORK_QUEUE.c.state == RUNNING,
        )
        self._db.execute(update(WORK_QUEUE).where(mine).values(lease_until=now() + lease))
        rows = self._db.execute(select(WORK_QUEUE.c.id, WORK_QUEUE.c.kill).where(mine)).all()
        return {row.id for row in rows}, {row.id for row in rows if row.kill}

    def complete_work(self, work_id: str, owner: str, result: dict[str, Any]) -> bool:
        outcome = self._db.execute(
            update(WORK_QUEUE)
            .where(
                WORK_QUEUE.c.id == work_id,
                WORK_QUEUE.c.owner == owner,
                WORK_QUEUE.c.state == RUNNING,
            )
            .values(state=DONE, result=result, lease_until=None)
        )
        return outcome.rowcount == 1

    def expire_work(self, result: dict[str, Any], limit: int = 100) -> list[str]:
        """Settle attempts whose worker let the lease lapse with ``result`` (the lost-worker
        failure, each given its own task run and attempt); returns their ids."""
        query = self._locked(
            select(WORK_QUEUE.c.id, WORK_QUEUE.c.task_run_id, WORK_QUEUE.c.attempt)
            .where(WORK_QUEUE.c.state == RUNNING, WORK_QUEUE.c.lease_until < now())
            .limit(limit)
        )
        rows = self._db.execute(query).all()
        for row in rows:
            self._db.execute(
                update(WORK_QUEUE)
                .where(WORK_QUEUE.c.id == row.id, WORK_QUEUE.c.state == RUNNING)
                .values(
                    state=DONE,
                    lease_until=None,
                    result={**result, "task_run_id": row.task_run_id, "attempt": row.attempt},
                )
            )
        return [row.id for row in rows]

    def request_kill(self, task_run_id: str, result: dict[str, Any]) -> None:
        """Stop the attempt of ``task_run_id``: a queued one ends at once with ``result``, a
        running one is flagged for its worker, which sees the flag when it renews its lease."""
        run = WORK_QUEUE.c.task_run_id == task_run_id
        queued = self._db.execute(
            select(WORK_QUEUE.c.id, WORK_QUEUE.c.attempt).where(run, WORK_QUEUE.c.state == QUEUED)
        ).all()
        for row in queued:
            self._db.execute(
                update(WORK_QUEUE)
                .where(WORK_QUEUE.c.id == row.id, WORK_QUEUE.c.state == QUEUED)
                .values(
                    state=DONE,
                    result={**result, "task_run_id": task_run_id, "attempt": row.attempt},
                )
            )
        self._db.execute(
            update(WORK_QUEUE).where(run, WORK_QUEUE.c.state == RUNNING).values(kill=True)
        )

    def take_results(self, owner: str, limit: int = 500) -> list[WorkResult]:
        """Results of attempts of the executions ``owner`` holds, oldest first (left in place
        until ``delete_work``, in the transaction that applies them)."""
        owned = select(EXECUTION_LEASES.c.execution_id).where(EXECUTION_LEASES.c.owner == owner)
        query = (
            select(WORK_QUEUE.c.id, WORK_QUEUE.c.execution_id, WORK_QUEUE.c.result)
            .where(WORK_QUEUE.c.state == DONE, WORK_QUEUE.c.execution_id.in_(owned))
            .order_by(WORK_QUEUE.c.created)
            .limit(limit)
        )
        return [
            WorkResult(row.id, row.execution_id, dict(row.result))
            for row in self._db.execute(query)
        ]

    def delete_work(self, ids: Sequence[str]) -> None:
        if ids:
            self._db.execute(delete(WORK_QUEUE).where(WORK_QUEUE.c.id.in_(list(ids))))

    def count_work(self) -> dict[str, int]:
        rows = self._db.execute(
            select(WORK_QUEUE.c.state, func.count()).group_by(WORK_QUEUE.c.state)
        ).all()
        return {state: count for state, count in rows}

    # -- execution leases -----------------------------------------------------------------------
    def create_lease(self, execution_id: str, owner: str | None, lease: timedelta) -> None:
        """Make the execution claimable (``owner`` None) or hold it; an existing lease stays."""
        until = now() + lease if owner is not None else None
        self._db.execute(
            self._insert()(EXECUTION_LEASES)
            .values(execution_id=execution_id, owner=owner, lease_until=until)
            .on_conflict_do_nothing()
        )

    def adopt_unleased(self) -> int:
        """Give every unfinished execution without a lease one nobody holds (executions from
        before leases, or from a standalone server)."""
        missing = select(EXECUTIONS.c.id).where(
            EXECUTIONS.c.state.not_in([state.value for state in TERMINAL]),
            EXECUTIONS.c.id.not_in(select(EXECUTION_LEASES.c.execution_id)),
        )
        ids = list(self._db.execute(missing).scalars())
        if ids:
            self._db.execute(
                insert(EXECUTION_LEASES), [{"execution_id": i, "owner": None} for i in ids]
            )
        return len(ids)

    def claim_executions(
        self, owner: str, limit: int, lease: timedelta
    ) -> list[tuple[str, str | None]]:
        """Take up to ``limit`` executions nobody holds or whose holder let the lease lapse;
        returns (execution id, previous holder)."""
        moment = now()
        query = self._locked(
            select(EXECUTION_LEASES.c.execution_id, EXECUTION_LEASES.c.owner)
            .where(
                or_(
                    EXECUTION_LEASES.c.owner.is_(None),
                    and_(
                        EXECUTION_LEASES.c.lease_until < moment,
                        EXECUTION_LEASES.c.owner != owner,
                    ),
                )
            )
            .limit(limit)
        )
        rows = self._db.execute(query).all()
        if rows:
            self._db.execute(
                update(EXECUTION_LEASES)
                .where(EXECUTION_LEASES.c.execution_id.in_([row.execution_id for row in rows]))
                .values(owner=owner, lease_until=moment + lease)
            )
        return [(row.execution_id, row.owner) for row in rows]

    def renew_executions(self, owner: str, lease: timedelta) -> set[str]:
        """Extend every lease ``owner`` holds; returns the executions it holds. A lease another
        transaction is changing (its execution is ending) is left as it is, not waited for."""
        mine = self._locked(
            select(EXECUTION_LEASES.c.execution_id).where(EXECUTION_LEASES.c.owner == owner)
        )
        self._db.execute(
            update(EXECUTION_LEASES)
            .where(EXECUTION_LEASES.c.execution_id.in_(mine.scalar_subquery()))
            .values(lease_until=now() + lease)
        )
        return set(
            self._db.execute(
                select(EXECUTION_LEASES.c.execution_id).where(EXECUTION_LEASES.c.owner == owner)
            ).scalars()
        )

    def hold_executions(self, owner: str, ids: Sequence[str], lease: timedelta) -> set[str]:
        """In the transaction of a step: extend the leases of ``ids`` that ``owner`` still holds
        and keep them locked until it ends, so no other executor takes them over meanwhile;
        returns those ids. An execution missing from the answer is no longer ``owner``'s."""
        if not ids:
            return set()
        mine = and_(
            EXECUTION_LEASES.c.execution_id.in_(sorted(set(ids))),
            EXECUTION_LEASES.c.owner == owner,
        )
        held = self._db.execute(
            update(EXECUTION_LEASES)
            .where(mine)
            .values(lease_until=now() + lease)
            .returning(EXECUTION_LEASES.c.execution_id)
        )
        return set(held.scalars())

    def release_executions(self, owner: str) -> None:
        """Let other executors take over at once what ``owner`` holds (its leases lapse now)."""
        self._db.execute(
            update(EXECUTION_LEASES)
            .where(EXECUTION_LEASES.c.owner == owner)
            .values(lease_until=datetime(1970, 1, 1, tzinfo=UTC))
        )

    def delete_lease(self, execution_id: str) -> None:
        self._db.execute(
            delete(EXECUTION_LEASES).where(EXECUTION_LEASES.c.execution_id == execution_id)
        )
