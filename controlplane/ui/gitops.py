"""GitOps as the UI shows it: each source's last reconcile (commit, result, what changed) and the
drift since, read from the record the reconciler keeps on the server (the JSON KV pair
``system/gitops.<source>``) and compared with the objects as they are now.

The reconciler writes that record through the API like any client; the UI only reads it, from
the store, with the same shape (``controlplane.gitops.status`` is the writer's side).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from controlplane.engine.ports import Repositories
from controlplane.ui.web import Viewer, page, store_of

STATUS_NAMESPACE = "system"
STATUS_PREFIX = "gitops."

router = APIRouter(prefix="/ui/gitops")


@dataclass
class Reconcile:
    source: str
    location: str
    commit: str | None
    finished: str
    ready: bool
    reason: str
    message: str
    counts: dict[str, int]
    inventory: dict[tuple[str, str, str], int]
    """(kind, namespace, name) -> the revision it had after the reconcile."""
    drift: list[str] = field(default_factory=list)

    def holds_flow(self, namespace: str, flow_id: str) -> bool:
        return ("flow", namespace, flow_id) in self.inventory


def reconciles(repos: Repositories, with_drift: bool = True) -> list[Reconcile]:
    """Every source's last reconcile (with its drift unless told not to), by source name."""
    found = []
    for entry in repos.kv.list_kv(STATUS_NAMESPACE):
        if entry.key.startswith(STATUS_PREFIX) and isinstance(entry.value, dict):
            record = _reconcile(entry.value)
            if with_drift:
                record.drift = _drift(repos, record)
            found.append(record)
    return sorted(found, key=lambda r: r.source)


def _reconcile(data: dict[str, Any]) -> Reconcile:
    inventory = {
        (str(kind), str(namespace), str(name)): int(revision)
        for kind, namespaces in (data.get("inventory") or {}).items()
        for namespace, names in (namespaces or {}).items()
        for name, revision in (names or {}).items()
    }
    return Reconcile(
        source=str(data.get("source", "")),
        location=str(data.get("location", "")),
        commit=data.get("commit") if isinstance(data.get("commit"), str) else None,
        finished=str(data.get("finished", "")),
        ready=bool(data.get("ready")),
        reason=str(data.get("reason", "")),
        message=str(data.get("message", "")),
        counts={str(k): int(v) for k, v in (data.get("counts") or {}).items()},
        inventory=inventory,
    )


def _drift(repos: Repositories, record: Reconcile) -> list[str]:
    """What changed in Weir since the reconcile: objects at another revision, or gone."""
    changes = []
    for (kind, namespace, name), revision in sorted(record.inventory.items()):
        current = _current(repos, kind, namespace, name)
        ref = namespace if kind == "namespace" else f"{namespace}/{name}"
        if current is None:
            changes.append(f"{kind} {ref} was deleted")
        elif current[0] != revision:
            who = current[1] or "no manager"
            changes.append(f"{kind} {ref}: revision {revision} → {current[0]} (by {who})")
    return changes


def _current(
    repos: Repositories, kind: str, namespace: str, name: str
) -> tuple[int, str | None] | None:
    """(revision, managed_by) of an object as it is now; None when it is gone."""
    found: Any
    if kind == "flow":
        found = repos.flows.read_flow(namespace, name)
    elif kind == "namespace":
        found = repos.namespaces.read_namespace(namespace)
    elif kind == "secret":
        found = repos.secrets.read_secret_meta(namespace, name)
    elif kind == "kv":
        found = repos.kv.read_kv(namespace, name)
    elif kind == "file":
        found = repos.namespace_files.read_namespace_file(namespace, name)
    else:
        return None
    return (found.revision, found.managed_by) if found is not None else None


@router.get("")
def list_sources(request: Request, viewer: Viewer) -> Response:
    store = store_of(request)

    def build() -> dict[str, Any]:
        # The records name objects of every namespace they apply: the system namespace's
        # readers see them.
        viewer.require("read", STATUS_NAMESPACE)
        with store.unit(read_only=True) as repos:
            return {"sources": reconciles(repos)}

    return page(request, "gitops.html", build, viewer)
