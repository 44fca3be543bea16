"""Namespaces: description, variables and labels of a dotted name, with a revision."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from controlplane.engine.model import now
from controlplane.engine.ports import NamespaceRecord
from controlplane.store.columns import in_namespace
from controlplane.store.tables import NAMESPACES


def _record(row: Row[Any]) -> NamespaceRecord:
    return NamespaceRecord(
        name=row.name,
        description=row.description,
        variables=row.variables,
        labels=row.labels,
        managed_by=row.managed_by,
        revision=row.revision,
        allowed_namespaces=tuple(row.allowed_namespaces or ()),
    )


class SqlNamespaceRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def update_namespace(self, record: NamespaceRecord) -> NamespaceRecord:
        stored = self.read_namespace(record.name)
        saved = replace(record, revision=stored.revision + 1 if stored is not None else 1)
        values = {
            "description": saved.description,
            "variables": saved.variables,
            "labels": saved.labels,
            "managed_by": saved.managed_by,
            "revision": saved.revision,
            "allowed_namespaces": list(saved.allowed_namespaces),
            "updated": now(),
        }
        if stored is None:
            self._db.execute(insert(NAMESPACES).values(name=saved.name, **values))
        else:
            self._db.execute(
                update(NAMESPACES).where(NAMESPACES.c.name == saved.name).values(**values)
            )
        return saved

    def read_namespace(self, name: str) -> NamespaceRecord | None:
        row = self._db.execute(select(NAMESPACES).where(NAMESPACES.c.name == name)).first()
        return _record(row) if row is not None else None

    def list_namespaces(self, prefix: str | None = None) -> list[NamespaceRecord]:
        query = select(NAMESPACES).order_by(NAMESPACES.c.name)
        if prefix:
            query = query.where(in_namespace(NAMESPACES.c.name, prefix))
        return [_record(row) for row in self._db.execute(query)]

    def delete_namespace(self, name: str) -> bool:
        result = self._db.execute(delete(NAMESPACES).where(NAMESPACES.c.name == name))
        return result.rowcount > 0
