"""Who calls whom: the flows whose latest revision references a flow (Subflow, ForEachItem,
Flow trigger), read from the index kept with each revision.

The answer carries each caller's source, so that a client can check every call against a new
version of the flow it calls (``controlplane.spec.contracts``) before anything is applied.
Callers in namespaces the token does not reach are left out.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from controlplane.api.auth import Caller
from controlplane.api.deps import FLOW_ID_PATTERN, StoreDep
from controlplane.spec.names import NAMESPACE_PATTERN

router = APIRouter(prefix="/flows", tags=["flows"])


class CallerReference(BaseModel):
    kind: str
    """``subflow``, ``foreach`` or ``trigger``."""
    path: str
    """Where in the caller's source, as a YAML path (``tasks[0]``)."""
    namespace: str
    flow_id: str
    """The flow referenced."""


class FlowCaller(BaseModel):
    namespace: str
    id: str
    revision: int
    managed_by: str | None
    source: str
    references: list[CallerReference]


@router.get("/callers", summary="The flows that call a flow, or any flow of a namespace")
def list_callers(
    caller: Caller,
    store: StoreDep,
    namespace: Annotated[
        str, Query(pattern=NAMESPACE_PATTERN, max_length=150, description="The called flow's.")
    ],
    flow_id: Annotated[
        str | None,
        Query(
            alias="id",
            pattern=FLOW_ID_PATTERN,
            max_length=100,
            description="The called flow; every flow of the namespace when left out.",
        ),
    ] = None,
) -> list[FlowCaller]:
    caller.require("read")
    with store.unit(read_only=True) as repos:
        found = repos.references.list_callers(namespace, flow_id)
    return [
        FlowCaller(
            namespace=item.record.namespace,
            id=item.record.flow_id,
            revision=item.record.revision,
            managed_by=item.record.managed_by,
            source=item.record.source,
            references=[
                CallerReference(
                    kind=r.kind, path=r.path, namespace=r.target_namespace, flow_id=r.target_flow_id
                )
                for r in item.references
            ],
        )
        for item in found
        if caller.sees(item.record.namespace)
    ]
