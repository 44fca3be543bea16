"""Flow pages: the list (last run, next schedule), one flow in tabs (overview and start form,
topology, source, revisions and their diff, triggers and backfill, executions), and the editor.

A flow managed by Terraform or GitOps is not edited here: its editor page says who manages it
and where to change it, and the API refuses a write from the UI anyway (``managed_by``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from controlplane.api.auth import Principal
from controlplane.api.errors import NotFound
from controlplane.api.flowinfo import interface
from controlplane.engine.model import Execution
from controlplane.engine.ports import FlowRecord, Repositories
from controlplane.ui import flowparts, gitops
from controlplane.ui.highlight import highlight
from controlplane.ui.topology import callees, load, topology
from controlplane.ui.web import Viewer, page, store_of

router = APIRouter(prefix="/ui/flows")

PAGE_SIZE = 50
TABS = ("overview", "topology", "source", "revisions", "triggers", "executions")
NEW_FLOW = """id: hello
namespace: company.team

inputs:
  - id: name
    type: STRING
    defaults: world

tasks:
  - id: greet
    type: io.kestra.plugin.core.log.Log
    message: "Hello {{ inputs.name }}"
"""


@router.get("")
def list_flows(
    request: Request,
    viewer: Viewer,
    q: Annotated[str, Query(max_length=200)] = "",
    namespace: Annotated[str, Query(max_length=150)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    store = store_of(request)

    def build() -> dict[str, Any]:
        viewer.require("read")
        with store.unit(read_only=True) as repos:
            records, total = _search(repos, viewer, namespace, q, page_number)
            rows = _rows(repos, records)
        return {
            "rows": rows,
            "total": total,
            "q": q,
            "namespace": namespace,
            "page_number": page_number,
            "pages": max(1, -(-total // PAGE_SIZE)),
        }

    return page(request, "flows.html", build, viewer)


@router.get("/new")
def new_flow(request: Request, viewer: Viewer) -> Response:
    def build() -> dict[str, Any]:
        viewer.require("write")
        return {"record": None, "source": NEW_FLOW, "managed_by": None}

    return page(request, "flow_edit.html", build, viewer)


@router.get("/{namespace}/{flow_id}")
def read_flow(
    request: Request,
    namespace: str,
    flow_id: str,
    viewer: Viewer,
    tab: Annotated[str, Query(max_length=20)] = "overview",
    a: Annotated[int | None, Query(ge=1)] = None,
    b: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    store = store_of(request)
    tab = tab if tab in TABS else "overview"

    def build() -> dict[str, Any]:
        with store.unit(read_only=True) as repos:
            record = _record(repos, viewer, namespace, flow_id)
            data = load(record.source)
            context: dict[str, Any] = {
                "record": record,
                "info": interface(record),
                "tab": tab,
                "tabs": TABS,
                "can_write": viewer.can("write") and viewer.sees(namespace),
                "gitops": _gitops(repos, record),
            }
            context.update(_tab(repos, viewer, record, data, tab, a, b))
        return context

    return page(request, "flow.html", build, viewer)


@router.get("/{namespace}/{flow_id}/edit")
def edit_flow(request: Request, namespace: str, flow_id: str, viewer: Viewer) -> Response:
    store = store_of(request)

    def build() -> dict[str, Any]:
        viewer.require("write", namespace)
        with store.unit(read_only=True) as repos:
            record = _record(repos, viewer, namespace, flow_id)
        return {"record": record, "source": record.source, "managed_by": record.managed_by}

    return page(request, "flow_edit.html", build, viewer)


def _tab(
    repos: Repositories,
    viewer: Principal,
    record: FlowRecord,
    data: dict[str, Any],
    tab: str,
    a: int | None,
    b: int | None,
) -> dict[str, Any]:
    namespace, flow_id = record.namespace, record.flow_id
    if tab == "overview":
        branches = topology(data)
        return {
            "fields": flowparts.fields(data),
            "callees": callees(branches),
            "callers": [
                c for c in flowparts.callers(repos, namespace, flow_id) if viewer.sees(c[0])
            ],
            "recent": _executions(repos, namespace, flow_id, 5),
        }
    if tab == "topology":
        return {"branches": topology(data)}
    if tab == "source":
        return {"lines": highlight(record.source)}
    if tab == "revisions":
        return _revisions(repos, record, a, b)
    if tab == "triggers":
        states = repos.triggers.list_trigger_states(namespace)
        mine = [s for s in states if s.flow_id == flow_id]
        return {"triggers": flowparts.triggers(data, mine)}
    return {"recent": _executions(repos, namespace, flow_id, 50)}


def _gitops(repos: Repositories, record: FlowRecord) -> dict[str, Any] | None:
    """The GitOps source that applied this flow, its last reconcile, and whether the flow
    drifted since (another revision now than the one the reconcile left)."""
    if not (record.managed_by or "").startswith("gitops:"):
        return None
    key = ("flow", record.namespace, record.flow_id)
    for found in gitops.reconciles(repos, with_drift=False):
        if key in found.inventory:
            applied = found.inventory[key]
            drifted = applied != record.revision
            return {"reconcile": found, "applied": applied, "drifted": drifted}
    return None


def _revisions(
    repos: Repositories, record: FlowRecord, a: int | None, b: int | None
) -> dict[str, Any]:
    revisions = repos.flows.list_flow_revisions(record.namespace, record.flow_id)
    numbers = [r.revision for r in revisions]
    new = b if b in numbers else record.revision
    old = a if a in numbers else max([n for n in numbers if n < new], default=new)
    by_number = {r.revision: r for r in revisions}
    return {
        "revisions": list(reversed(revisions)),
        "a": old,
        "b": new,
        "diff": flowparts.diff(by_number[old], by_number[new]),
    }


def _record(repos: Repositories, viewer: Principal, namespace: str, flow_id: str) -> FlowRecord:
    viewer.require("read", namespace)
    record = repos.flows.read_flow(namespace, flow_id)
    if record is None:
        raise NotFound(f"flow {namespace}/{flow_id} does not exist")
    return record


def _search(
    repos: Repositories, viewer: Principal, namespace: str, q: str, page_number: int
) -> tuple[list[FlowRecord], int]:
    offset = (page_number - 1) * PAGE_SIZE
    prefix, text = namespace.strip() or None, q.strip() or None
    if viewer.unrestricted:
        return repos.flows.search_flows(prefix, text, {}, PAGE_SIZE, offset)
    found, _ = repos.flows.search_flows(prefix, text, {})
    visible = [r for r in found if viewer.sees(r.namespace)]
    return visible[offset : offset + PAGE_SIZE], len(visible)


def _rows(repos: Repositories, records: list[FlowRecord]) -> list[dict[str, Any]]:
    last = repos.executions.list_last_runs([(r.namespace, r.flow_id) for r in records])
    triggers = {
        namespace: repos.triggers.list_trigger_states(namespace)
        for namespace in {r.namespace for r in records}
    }
    rows = []
    for record in records:
        states = [s for s in triggers[record.namespace] if s.flow_id == record.flow_id]
        # The flow's source is read only when a trigger has a state: most flows have none.
        found = flowparts.triggers(load(record.source), states) if states else []
        upcoming = sorted(
            t.state.next for t in found if t.state and t.state.next and not t.disabled
        )
        rows.append(
            {
                "record": record,
                "info": interface(record),
                "last": last.get((record.namespace, record.flow_id)),
                "next": upcoming[0] if upcoming else None,
            }
        )
    return rows


def _executions(repos: Repositories, namespace: str, flow_id: str, limit: int) -> list[Execution]:
    return repos.executions.list_executions(namespace, flow_id, limit=limit)
