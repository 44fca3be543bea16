"""Task metrics (counters and timers) of an execution."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, insert, select

from controlplane.engine.ports import Metric
from controlplane.store.tables import METRICS


class SqlMetricRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def create_metrics(self, metrics: Sequence[Metric]) -> None:
        if not metrics:
            return
        self._db.execute(
            insert(METRICS),
            [
                {
                    "execution_id": metric.execution_id,
                    "task_run_id": metric.task_run_id,
                    "task_id": metric.task_id,
                    "name": metric.name,
                    "type": metric.type,
                    "value": metric.value,
                    "tags": metric.tags,
                    "at": metric.at,
                }
                for metric in metrics
            ],
        )

    def delete_metrics(self, execution_id: str) -> int:
        query = delete(METRICS).where(METRICS.c.execution_id == execution_id)
        return self._db.execute(query).rowcount

    def list_metrics(self, execution_id: str) -> list[Metric]:
        query = select(METRICS).where(METRICS.c.execution_id == execution_id)
        return [
            Metric(
                execution_id=row.execution_id,
                task_run_id=row.task_run_id,
                task_id=row.task_id,
                name=row.name,
                type=row.type,
                value=row.value,
                tags=row.tags,
                at=row.at,
            )
            for row in self._db.execute(query.order_by(METRICS.c.seq))
        ]
