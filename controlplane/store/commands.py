"""Commands for executors in other processes: an API process writes, an executor takes.

A command stays in the table until the step that applies it commits (``delete_commands`` in that
step's transaction), so an executor that dies or loses the execution before then loses nothing:
whoever holds the execution next takes it again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from controlplane.engine.model import now
from controlplane.engine.ports import TakenCommand
from controlplane.store.tables import COMMANDS, EXECUTION_LEASES


class SqlCommandRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def create_command(self, execution_id: str, kind: str, payload: Any = None) -> None:
        self._db.execute(
            insert(COMMANDS).values(
                execution_id=execution_id, kind=kind, payload=payload, created=now()
            )
        )

    def take_commands(self, limit: int = 100, owner: str | None = None) -> list[TakenCommand]:
        query = select(COMMANDS).order_by(COMMANDS.c.seq).limit(limit)
        if owner is not None:
            held = select(EXECUTION_LEASES.c.execution_id).where(EXECUTION_LEASES.c.owner == owner)
            query = query.where(COMMANDS.c.execution_id.in_(held))
        if self._db.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [
            TakenCommand(row.seq, row.execution_id, row.kind, row.payload)
            for row in self._db.execute(query)
        ]

    def delete_commands(self, seqs: Sequence[int]) -> None:
        if seqs:
            self._db.execute(delete(COMMANDS).where(COMMANDS.c.seq.in_(list(seqs))))
