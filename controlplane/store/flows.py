"""Flow revisions: every saved change of a flow's source is a new row; deletion is one too."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from controlplane.engine.model import TERMINAL, now
from controlplane.engine.ports import FlowRecord
from controlplane.store.columns import in_namespace
from controlplane.store.references import insert_references
from controlplane.store.tables import EXECUTIONS, FLOW_REFERENCES, FLOWS


def _record(row: Row[Any]) -> FlowRecord:
    return FlowRecord(
        namespace=row.namespace,
        flow_id=row.flow_id,
        revision=row.revision,
        source=row.source,
        managed_by=row.managed_by,
        updated=row.updated,
        deleted=row.deleted,
        labels=row.labels,
    )


def _same_flow(namespace: str, flow_id: str) -> Any:
    return and_(FLOWS.c.namespace == namespace, FLOWS.c.flow_id == flow_id)


# The most frequent read, built once: building a statement and its cache key cost about as
# much as running it.
_LATEST = select(FLOWS).where(
    FLOWS.c.namespace == bindparam("namespace"),
    FLOWS.c.flow_id == bindparam("flow_id"),
    FLOWS.c.latest,
)

_LATEST_REVISIONS = (
    select(FLOWS.c.namespace, FLOWS.c.flow_id, FLOWS.c.revision)
    .where(FLOWS.c.latest, ~FLOWS.c.deleted)
    .order_by(FLOWS.c.namespace, FLOWS.c.flow_id)
)


class SqlFlowRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def create_flow_revision(
        self,
        namespace: str,
        flow_id: str,
        source: str,
        managed_by: str | None,
        labels: Mapping[str, str] | None = None,
    ) -> FlowRecord:
        latest = self._latest(namespace, flow_id)
        if (
            latest is not None
            and not latest.deleted
            and latest.source == source
            and latest.managed_by == managed_by
        ):
            return latest
        return self._append(
            namespace, flow_id, source, managed_by, dict(labels or {}), latest, deleted=False
        )

    def read_flow(
        self, namespace: str, flow_id: str, revision: int | None = None
    ) -> FlowRecord | None:
        if revision is None:
            record = self._latest(namespace, flow_id)
        else:
            query = select(FLOWS).where(
                _same_flow(namespace, flow_id), FLOWS.c.revision == revision
            )
            row = self._db.execute(query).first()
            record = _record(row) if row is not None else None
        return None if record is None or record.deleted else record

    def list_flows(
        self, namespace_prefix: str | None = None, *, exact: bool = False
    ) -> list[FlowRecord]:
        query = select(FLOWS).where(FLOWS.c.latest, ~FLOWS.c.deleted)
        if namespace_prefix and exact:
            query = query.where(FLOWS.c.namespace == namespace_prefix)
        elif namespace_prefix:
            query = query.where(in_namespace(FLOWS.c.namespace, namespace_prefix))
        query = query.order_by(FLOWS.c.namespace, FLOWS.c.flow_id)
        return [_record(row) for row in self._db.execute(query)]

    def latest_revisions(self) -> list[tuple[str, str, int]]:
        return [(row[0], row[1], row[2]) for row in self._db.execute(_LATEST_REVISIONS)]

    def search_flows(
        self,
        namespace_prefix: str | None = None,
        text: str | None = None,
        labels: Mapping[str, str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[list[FlowRecord], int]:
        query = select(FLOWS).where(FLOWS.c.latest, ~FLOWS.c.deleted)
        if namespace_prefix:
            query = query.where(in_namespace(FLOWS.c.namespace, namespace_prefix))
        if text:
            needle = f"%{_escape_like(text.lower())}%"
            query = query.where(
                or_(
                    *(
                        func.lower(column).like(needle, escape="\\")
                        for column in (FLOWS.c.namespace, FLOWS.c.flow_id, FLOWS.c.source)
                    )
                )
            )
        query = query.order_by(FLOWS.c.namespace, FLOWS.c.flow_id)
        if not labels:
            total = self._db.execute(
                select(func.count()).select_from(query.order_by(None).subquery())
            ).scalar_one()
            if limit is not None:
                query = query.limit(limit)
            rows = self._db.execute(query.offset(offset)).all()
            return [_record(row) for row in rows], total
        # Label maps are matched here: JSON containment differs between the dialects.
        wanted = dict(labels)
        found = [
            _record(row)
            for row in self._db.execute(query)
            if all(row.labels.get(key) == value for key, value in wanted.items())
        ]
        end = None if limit is None else offset + limit
        return found[offset:end], len(found)

    def list_flow_revisions(self, namespace: str, flow_id: str) -> list[FlowRecord]:
        query = select(FLOWS).where(_same_flow(namespace, flow_id)).order_by(FLOWS.c.revision)
        return [_record(row) for row in self._db.execute(query)]

    def purge_revisions(
        self, namespace: str, flow_id: str, keep: int | None, before: datetime | None
    ) -> int:
        same = _same_flow(namespace, flow_id)
        rows = self._db.execute(
            select(FLOWS.c.revision, FLOWS.c.updated).where(same).order_by(FLOWS.c.revision.desc())
        ).all()
        in_use = set(
            self._db.execute(
                select(EXECUTIONS.c.flow_revision).where(
                    EXECUTIONS.c.namespace == namespace,
                    EXECUTIONS.c.flow_id == flow_id,
                    EXECUTIONS.c.state.not_in([state.value for state in TERMINAL]),
                )
            ).scalars()
        )
        kept = max(keep or 0, 1)  # the latest revision always stays
        doomed = [
            row.revision
            for row in rows[kept:]
            if row.revision not in in_use and (before is None or row.updated <= before)
        ]
        if doomed:
            self._db.execute(delete(FLOWS).where(same, FLOWS.c.revision.in_(doomed)))
            self._db.execute(
                delete(FLOW_REFERENCES).where(
                    FLOW_REFERENCES.c.namespace == namespace,
                    FLOW_REFERENCES.c.flow_id == flow_id,
                    FLOW_REFERENCES.c.revision.in_(doomed),
                )
            )
        return len(doomed)

    def delete_flow(self, namespace: str, flow_id: str) -> bool:
        """Add a revision marked deleted, so the history stays readable; False when absent."""
        latest = self._latest(namespace, flow_id)
        if latest is None or latest.deleted:
            return False
        self._append(
            namespace,
            flow_id,
            latest.source,
            latest.managed_by,
            latest.labels,
            latest,
            deleted=True,
        )
        return True

    def _latest(self, namespace: str, flow_id: str) -> FlowRecord | None:
        row = self._db.execute(_LATEST, {"namespace": namespace, "flow_id": flow_id}).first()
        return _record(row) if row is not None else None

    def _append(
        self,
        namespace: str,
        flow_id: str,
        source: str,
        managed_by: str | None,
        labels: dict[str, str],
        latest: FlowRecord | None,
        *,
        deleted: bool,
    ) -> FlowRecord:
        if latest is not None:
            self._db.execute(
                update(FLOWS)
                .where(_same_flow(namespace, flow_id), FLOWS.c.latest)
                .values(latest=False)
            )
        revision = latest.revision + 1 if latest is not None else 1
        record = FlowRecord(
            namespace=namespace,
            flow_id=flow_id,
            revision=revision,
            source=source,
            managed_by=managed_by,
            updated=now(),
            deleted=deleted,
            labels=labels,
        )
        self._db.execute(
            insert(FLOWS).values(
                namespace=namespace,
                flow_id=flow_id,
                revision=revision,
                source=source,
                labels=labels,
                managed_by=managed_by,
                updated=record.updated,
                deleted=deleted,
                latest=True,
            )
        )
        if not deleted:
            insert_references(self._db, namespace, flow_id, revision, source)
        return record


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
