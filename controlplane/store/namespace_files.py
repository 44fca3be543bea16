"""What is known of each namespace file: size, SHA-256, manager and revision."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from controlplane.engine.model import now
from controlplane.engine.ports import NamespaceFileRecord
from controlplane.store.tables import NAMESPACE_FILES

_C = NAMESPACE_FILES.c


def _record(row: Row[Any]) -> NamespaceFileRecord:
    return NamespaceFileRecord(
        namespace=row.namespace,
        path=row.path,
        size=row.size,
        sha256=row.sha256,
        managed_by=row.managed_by,
        revision=row.revision,
        updated=row.updated,
    )


class SqlNamespaceFileRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def update_namespace_file(
        self, namespace: str, path: str, size: int, sha256: str, managed_by: str | None = None
    ) -> NamespaceFileRecord:
        where = (_C.namespace == namespace, _C.path == path)
        revision = self._db.execute(select(_C.revision).where(*where)).scalar_one_or_none()
        record = NamespaceFileRecord(
            namespace=namespace,
            path=path,
            size=size,
            sha256=sha256,
            managed_by=managed_by,
            revision=revision + 1 if revision is not None else 1,
            updated=now(),
        )
        values = {
            "size": size,
            "sha256": sha256,
            "managed_by": managed_by,
            "revision": record.revision,
            "updated": record.updated,
        }
        if revision is None:
            self._db.execute(
                insert(NAMESPACE_FILES).values(namespace=namespace, path=path, **values)
            )
        else:
            self._db.execute(update(NAMESPACE_FILES).where(*where).values(**values))
        return record

    def read_namespace_file(self, namespace: str, path: str) -> NamespaceFileRecord | None:
        query = select(NAMESPACE_FILES).where(_C.namespace == namespace, _C.path == path)
        row = self._db.execute(query).first()
        return _record(row) if row is not None else None

    def list_namespace_files(
        self, namespace: str, prefix: str | None = None
    ) -> list[NamespaceFileRecord]:
        query = select(NAMESPACE_FILES).where(_C.namespace == namespace).order_by(_C.path)
        if prefix:
            query = query.where(func.substr(_C.path, 1, len(prefix)) == prefix)
        return [_record(row) for row in self._db.execute(query)]

    def delete_namespace_file(self, namespace: str, path: str) -> bool:
        result = self._db.execute(
            delete(NAMESPACE_FILES).where(_C.namespace == namespace, _C.path == path)
        )
        return result.rowcount > 0
