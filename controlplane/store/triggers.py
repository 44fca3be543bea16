"""Trigger state, trigger firings, and the ended executions flow triggers have still to see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from controlplane.engine.model import now
from controlplane.engine.ports import TriggerStateRecord
from controlplane.store.prepared import Prepared, PreparedSet
from controlplane.store.tables import EXECUTION_ENDS, TRIGGER_FIRES, TRIGGER_STATES

_RECORD_END = PreparedSet(
    lambda dialect: Prepared(insert(EXECUTION_ENDS), dialect, ("execution_id", "created"))
)
"""The engine records every execution that ends, in the step that ends it."""


class SqlTriggerRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def claim_fire(self, key: str, execution_id: str) -> bool:
        dialect = pg_insert if self._db.dialect.name == "postgresql" else sqlite_insert
        statement = (
            dialect(TRIGGER_FIRES)
            .values(key=key, execution_id=execution_id, created=now())
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(TRIGGER_FIRES.c.key)
        )
        return self._db.execute(statement).first() is not None

    def read_fire(self, key: str) -> str | None:
        return self._db.execute(
            select(TRIGGER_FIRES.c.execution_id).where(TRIGGER_FIRES.c.key == key)
        ).scalar_one_or_none()

    def read_trigger_state(
        self, namespace: str, flow_id: str, trigger_id: str, for_update: bool = False
    ) -> dict[str, Any] | None:
        query = select(TRIGGER_STATES.c.document).where(
            TRIGGER_STATES.c.namespace == namespace,
            TRIGGER_STATES.c.flow_id == flow_id,
            TRIGGER_STATES.c.trigger_id == trigger_id,
        )
        if for_update and self._db.dialect.name == "postgresql":
            query = query.with_for_update()
        document = self._db.execute(query).scalar_one_or_none()
        return dict(document) if document is not None else None

    def update_trigger_state(
        self, namespace: str, flow_id: str, trigger_id: str, document: dict[str, Any]
    ) -> None:
        key = {"namespace": namespace, "flow_id": flow_id, "trigger_id": trigger_id}
        dialect = pg_insert if self._db.dialect.name == "postgresql" else sqlite_insert
        statement = dialect(TRIGGER_STATES).values(**key, document=document, updated=now())
        self._db.execute(
            statement.on_conflict_do_update(
                index_elements=list(key),
                set_={
                    "document": statement.excluded.document,
                    "updated": statement.excluded.updated,
                },
            )
        )

    def list_trigger_states(self, namespace: str | None = None) -> list[TriggerStateRecord]:
        query = select(TRIGGER_STATES).order_by(
            TRIGGER_STATES.c.namespace, TRIGGER_STATES.c.flow_id, TRIGGER_STATES.c.trigger_id
        )
        if namespace is not None:
            query = query.where(TRIGGER_STATES.c.namespace == namespace)
        return [
            TriggerStateRecord(row.namespace, row.flow_id, row.trigger_id, dict(row.document),
                               row.updated)
            for row in self._db.execute(query)
        ]  # fmt: skip

    def delete_trigger_state(self, namespace: str, flow_id: str, trigger_id: str) -> bool:
        result = self._db.execute(
            delete(TRIGGER_STATES).where(
                TRIGGER_STATES.c.namespace == namespace,
                TRIGGER_STATES.c.flow_id == flow_id,
                TRIGGER_STATES.c.trigger_id == trigger_id,
            )
        )
        return result.rowcount > 0

    def record_end(self, execution_id: str) -> None:
        values = {"execution_id": execution_id, "created": now()}
        _RECORD_END.of(self._db.dialect).rowcount(self._db, values)

    def take_ends(self, limit: int = 100) -> list[tuple[int, str]]:
        query = select(EXECUTION_ENDS).order_by(EXECUTION_ENDS.c.seq).limit(limit)
        if self._db.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [(row.seq, row.execution_id) for row in self._db.execute(query)]

    def delete_ends(self, seqs: list[int]) -> None:
        if seqs:
            self._db.execute(delete(EXECUTION_ENDS).where(EXECUTION_ENDS.c.seq.in_(seqs)))
