"""The index of who calls whom: each flow revision's references to other flows.

Every saved revision is indexed as it is written (:func:`insert_references`, from the flow
repository's single write path), so "who calls flow X" is one indexed query over the latest
revisions instead of parsing every flow. A revision's rows never change: an older revision keeps
the references it had.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, insert, select

from controlplane.engine.ports import FlowCaller, FlowReference
from controlplane.spec.contracts import references
from controlplane.spec.problems import format_path
from controlplane.store.tables import FLOW_REFERENCES, FLOWS


def reference_rows(
    namespace: str, flow_id: str, revision: int, source: str
) -> list[dict[str, Any]]:
    """The index rows of one revision; none when its source is not a YAML mapping."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(source, Loader=loader)  # a safe loader: CSafeLoader or SafeLoader
    except yaml.YAMLError:
        return []
    return [
        {
            "namespace": namespace,
            "flow_id": flow_id,
            "revision": revision,
            "target_namespace": ref.namespace,
            "target_flow_id": ref.flow_id,
            "kind": ref.kind,
            "path": format_path(ref.path),
        }
        for ref in references(data)
    ]


def insert_references(
    connection: Connection, namespace: str, flow_id: str, revision: int, source: str
) -> None:
    rows = reference_rows(namespace, flow_id, revision, source)
    if rows:
        connection.execute(insert(FLOW_REFERENCES), rows)


class SqlFlowReferenceRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def list_callers(self, namespace: str, flow_id: str | None = None) -> list[FlowCaller]:
        """The live flows whose latest revision references ``namespace/flow_id`` (any flow of
        ``namespace`` when ``flow_id`` is None), ordered by namespace then id."""
        from controlplane.store.flows import _record

        refs = FLOW_REFERENCES.c
        joined = FLOWS.join(
            FLOW_REFERENCES,
            and_(
                refs.namespace == FLOWS.c.namespace,
                refs.flow_id == FLOWS.c.flow_id,
                refs.revision == FLOWS.c.revision,
            ),
        )
        query = (
            select(FLOWS, refs.kind, refs.path, refs.target_namespace, refs.target_flow_id)
            .select_from(joined)
            .where(FLOWS.c.latest, ~FLOWS.c.deleted, refs.target_namespace == namespace)
            .order_by(FLOWS.c.namespace, FLOWS.c.flow_id, refs.id)
        )
        if flow_id is not None:
            query = query.where(refs.target_flow_id == flow_id)
        found: dict[tuple[str, str], FlowCaller] = {}
        for row in self._db.execute(query):
            key = (row.namespace, row.flow_id)
            if key not in found:
                found[key] = FlowCaller(_record(row))
            found[key].references.append(
                FlowReference(row.kind, row.path, row.target_namespace, row.target_flow_id)
            )
        return list(found.values())
