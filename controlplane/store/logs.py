"""Execution logs: appended in batches, read back in order from a sequence number on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

from sqlalchemy import Connection, delete, insert, select

from controlplane.engine.ports import LogEntry, LogLevel
from controlplane.store.tables import LOGS

LEVELS: dict[str, int] = {level: rank for rank, level in enumerate(get_args(LogLevel))}


class SqlLogRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def create_logs(self, entries: Sequence[LogEntry]) -> None:
        if not entries:
            return
        self._db.execute(
            insert(LOGS),
            [
                {
                    "execution_id": entry.execution_id,
                    "namespace": entry.namespace,
                    "flow_id": entry.flow_id,
                    "task_run_id": entry.task_run_id,
                    "task_id": entry.task_id,
                    "attempt": entry.attempt,
                    "level": entry.level,
                    "level_no": LEVELS[entry.level],
                    "message": entry.message,
                    "at": entry.at,
                }
                for entry in entries
            ],
        )

    def delete_logs(self, execution_id: str, levels: Sequence[LogLevel] = ()) -> int:
        query = delete(LOGS).where(LOGS.c.execution_id == execution_id)
        if levels:
            query = query.where(LOGS.c.level.in_(list(levels)))
        return self._db.execute(query).rowcount

    def list_logs(
        self,
        execution_id: str,
        min_level: LogLevel = "TRACE",
        after: int = 0,
        limit: int | None = None,
    ) -> list[tuple[int, LogEntry]]:
        query = select(LOGS).where(LOGS.c.execution_id == execution_id, LOGS.c.seq > after)
        if LEVELS[min_level] > 0:
            query = query.where(LOGS.c.level_no >= LEVELS[min_level])
        if limit is not None:
            query = query.limit(limit)
        return [
            (
                row.seq,
                LogEntry(
                    execution_id=row.execution_id,
                    task_run_id=row.task_run_id,
                    task_id=row.task_id,
                    attempt=row.attempt,
                    level=row.level,
                    message=row.message,
                    at=row.at,
                    namespace=row.namespace,
                    flow_id=row.flow_id,
                ),
            )
            for row in self._db.execute(query.order_by(LOGS.c.seq))
        ]
