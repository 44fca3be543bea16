"""Everything a namespace holds, in one answer: what a reconciler compares with its desired state.

A reconciler of a thousand flows, secrets, KV pairs and files across a hundred namespaces reads
a hundred answers, not four thousand.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from controlplane.api.auth import Caller
from controlplane.api.deps import NamespacePath, StoreDep
from controlplane.api.routers.files import FileMeta
from controlplane.api.routers.flows import Flow
from controlplane.api.routers.kv import KvPair
from controlplane.api.routers.namespaces import Namespace
from controlplane.api.routers.secrets import SecretMeta

router = APIRouter(prefix="/namespaces", tags=["namespaces"])


class NamespaceContents(BaseModel):
    """``namespace`` is null when the namespace itself was never declared (its objects may
    still exist). Only exactly this namespace: not the ones below it."""

    name: str
    namespace: Namespace | None
    flows: list[Flow]
    secrets: list[SecretMeta]
    kv: list[KvPair]
    files: list[FileMeta]


@router.get(
    "/{namespace}/contents",
    summary="Read everything a namespace holds: flows with their sources, KV pairs with their "
    "values, what may be said of its secrets and files",
)
def read_contents(namespace: NamespacePath, caller: Caller, store: StoreDep) -> NamespaceContents:
    caller.require("read", namespace)
    with store.unit(read_only=True) as repos:
        record = repos.namespaces.read_namespace(namespace)
        flows = repos.flows.list_flows(namespace, exact=True)
        secrets = repos.secrets.list_secrets(namespace)
        kv = repos.kv.list_kv(namespace)
        files = repos.namespace_files.list_namespace_files(namespace, None)
    return NamespaceContents(
        name=namespace,
        namespace=Namespace.of(record) if record is not None else None,
        flows=[Flow.of(f) for f in flows],
        secrets=[SecretMeta.of(s) for s in secrets],
        kv=[KvPair.of(e) for e in kv],
        files=[FileMeta.of(f) for f in files],
    )
