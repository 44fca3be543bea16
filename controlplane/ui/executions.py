"""Execution pages: the list (filters, keyset paging) and one execution (Gantt, task tree,
inputs and outputs, logs, actions).

The list pages with the id of the last execution shown (``after``), which the store turns into
an indexed range on (start date, id): the hundredth page costs what the first does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response

from controlplane.api.auth import Principal
from controlplane.api.errors import BadRequest, Forbidden, NotFound
from controlplane.api.flowinfo import interface
from controlplane.engine.model import Execution, State
from controlplane.engine.ports import ExecutionFilter, Store
from controlplane.masking import MASK
from controlplane.ui import flowparts
from controlplane.ui.gantt import gantt
from controlplane.ui.topology import load, topology, walk
from controlplane.ui.web import Viewer, page, store_of

router = APIRouter(prefix="/ui/executions")

PAGE_SIZE = 50
COUNT_UP_TO = 10_000
STATES = [state.value for state in State]


@router.get("")
def list_executions(
    request: Request,
    viewer: Viewer,
    namespace: Annotated[str, Query(max_length=150)] = "",
    flow: Annotated[str, Query(max_length=100)] = "",
    state: Annotated[list[str] | None, Query()] = None,
    labels: Annotated[str, Query(max_length=2000)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    until: Annotated[str, Query(max_length=40)] = "",
    after: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    store = store_of(request)

    def build() -> dict[str, Any]:
        viewer.require("read")
        narrow = ExecutionFilter(
            labels=_labels(labels),
            since=_instant(since, "since"),
            until=_instant(until, "until"),
            after_id=after or None,
            count_up_to=COUNT_UP_TO,
        )
        states = [State(s) for s in state or [] if s in STATES] or None
        with store.unit(read_only=True) as repos:
            found, total = repos.executions.search_executions(
                namespace.strip() or None,
                flow.strip() or None,
                states,
                viewer.namespaces,
                limit=PAGE_SIZE,
                narrow=narrow,
            )
        filters = {
            "namespace": namespace,
            "flow": flow,
            "state": [s for s in state or [] if s],
            "labels": labels,
            "since": since,
            "until": until,
        }
        return {
            "executions": found,
            "total": f"over {COUNT_UP_TO:,}" if total > COUNT_UP_TO else f"{total:,}",
            "filters": filters,
            "states": STATES,
            "after": after,
            "next_after": found[-1].id if len(found) == PAGE_SIZE else None,
            "first_url": _url(request, None),
            "next_url": _url(request, found[-1].id if found else None),
        }

    return page(request, "executions.html", build, viewer)


@router.get("/{execution_id}")
def read_execution(request: Request, execution_id: str, viewer: Viewer) -> Response:
    store = store_of(request)
    return page(
        request, "execution.html", lambda: _execution_view(store, viewer, execution_id), viewer
    )


@router.get("/{execution_id}/live")
def live_execution(request: Request, execution_id: str, viewer: Viewer) -> Response:
    """The parts of the execution page that change while it runs, for the page to swap in."""
    store = store_of(request)
    return page(
        request, "execution_live.html", lambda: _execution_view(store, viewer, execution_id), viewer
    )


@router.get("/{execution_id}/logs.txt")
def download_logs(request: Request, execution_id: str, viewer: Viewer) -> Response:
    store = store_of(request)
    execution = _visible(store, viewer, execution_id)
    with store.unit(read_only=True) as repos:
        entries = repos.logs.list_logs(execution.id)
    lines = [
        f"{entry.at.isoformat()} {entry.level:<5} {entry.task_id or '-'} {entry.message}\n"
        for _, entry in entries
    ]
    return PlainTextResponse(
        "".join(lines),
        headers={"Content-Disposition": f'attachment; filename="{execution.id}.log"'},
    )


def _execution_view(store: Store, viewer: Principal, execution_id: str) -> dict[str, Any]:
    execution = _visible(store, viewer, execution_id)
    with store.unit(read_only=True) as repos:
        record = repos.flows.read_flow(
            execution.namespace, execution.flow_id, execution.flow_revision
        )
    secret_inputs = set()
    task_ids = {run.task_id for run in execution.task_runs}
    paused = {run.task_id for run in execution.task_runs if run.state is State.PAUSED}
    resume: list[flowparts.Field] = []
    if record is not None:
        secret_inputs = {i.id for i in interface(record).inputs if i.type == "SECRET"}
        data = load(record.source)
        task_ids |= {node.id for node in walk(topology(data))}
        resume = flowparts.resume_fields(data, paused)
    inputs = {k: MASK if k in secret_inputs else v for k, v in execution.inputs.items()}
    return {
        "execution": execution,
        "gantt": gantt(execution),
        "inputs": inputs,
        "task_ids": sorted(task_ids),
        "paused": execution.state is State.PAUSED,
        "resume_fields": resume,
        "terminal": execution.state.terminal,
        "can_write": viewer.can("write"),
        "files": _files(execution),
    }


def _files(execution: Execution) -> list[tuple[str, str]]:
    """(name, kestra:/// URI) of the inputs and outputs that are files of this execution."""
    values: list[tuple[str, Any]] = list(execution.inputs.items())
    values += list((execution.outputs or {}).items())
    for run in execution.task_runs:
        values += [(f"{run.task_id}.{k}", v) for k, v in run.outputs.items()]
    return [(name, v) for name, v in values if isinstance(v, str) and v.startswith("kestra:///")]


def _visible(store: Store, viewer: Principal, execution_id: str) -> Execution:
    viewer.require("read")
    with store.unit(read_only=True) as repos:
        execution = repos.executions.read_execution(execution_id)
    if execution is not None and viewer.sees(execution.namespace):
        return execution
    if viewer.unrestricted:
        raise NotFound(f"execution {execution_id} does not exist")
    raise Forbidden(f"the token does not reach execution {execution_id}")


def _url(request: Request, after: str | None) -> str:
    """This list's address with another ``after`` (none: the first page)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "after"]
    if after is not None:
        kept.append(("after", after))
    return "/ui/executions" + (f"?{urlencode(kept)}" if kept else "")


def _labels(text: str) -> dict[str, str]:
    """``key:value`` pairs separated by commas or spaces."""
    found = {}
    for item in text.replace(",", " ").split():
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise BadRequest(f"label filter '{item}' is not key:value, e.g. team:data")
        found[key] = value
    return found


def _instant(text: str, name: str) -> datetime | None:
    """A datetime-local field's value (read as UTC) or an ISO instant."""
    if not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadRequest(f"'{name}' is not a date and time such as 2026-01-31T08:00") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
