"""Executions: start (JSON or form), read, search, kill, resume, restart, replay, and their files;
the router includes the routes of their webhooks (``webhooks``) and logs (``executionlogs``).

Executions are read from the store, never from the engine's memory: what the API answers is
what was persisted, whichever process runs the executor. An execution id outside a restricted
token's reach gets 403 whether or not it exists, so ids cannot be probed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Annotated, Any, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator, Field, StringConstraints, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from controlplane.api.auth import Caller
from controlplane.api.deps import (
    ApiModel,
    EngineDep,
    FlowIdPath,
    NamespacePath,
    Page,
    PageDep,
    StoreDep,
)
from controlplane.api.errors import BadRequest, NotFound
from controlplane.api.executionviews import (
    Execution,
    ExecutionIdPath,
    latest_flow,
    require_enabled,
    shown,
    visible,
)
from controlplane.api.routers import executionlogs, webhooks
from controlplane.api.secretinputs import secret_input_ids
from controlplane.engine import model
from controlplane.engine.commands import Commands
from controlplane.engine.model import State
from controlplane.engine.ports import ExecutionFilter, Store, execution_storage_path
from controlplane.store import StoragePathError
from controlplane.store.files import SCHEME

router = APIRouter(prefix="/executions", tags=["executions"])

_CHUNK = 1024 * 1024

Label = Annotated[str, StringConstraints(pattern=r"^[^:]+:.*$", max_length=300)]


def _date_and_time(value: Any) -> Any:
    """A date and a time, as text: not the bare number (seconds since 1970) or the date alone
    that pydantic would also take for a datetime."""
    if isinstance(value, str) and not re.match(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}", value):
        raise ValueError("not a date and time such as 2026-01-31T08:00:00Z")
    return value


Instant = Annotated[datetime, BeforeValidator(_date_and_time)]


class StartIn(ApiModel):
    inputs: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)


class ResumeIn(ApiModel):
    inputs: dict[str, Any] = Field(
        default_factory=dict, description="Values for the Pause task's onResume inputs."
    )


_START_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {"schema": StartIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "description": "One field per input, FILE inputs as file parts.",
                    "properties": {
                        "labels": {
                            "type": "array",
                            "items": {"type": "string", "pattern": "^[^:]+:"},
                            "description": "Labels as key:value, one field each.",
                        }
                    },
                    "additionalProperties": {"type": "string"},
                }
            },
        },
    }
}

# -- routes ---------------------------------------------------------------------------------------
# Routes with a literal second segment come before POST /{namespace}/{flow_id}, which would
# otherwise take /{execution_id}/resume for a flow named "resume".


@router.get("/search", summary="Search executions")
def search_executions(
    caller: Caller,
    store: StoreDep,
    page: PageDep,
    namespace: Annotated[
        str | None, Query(max_length=150, description="This namespace and those below it.")
    ] = None,
    flow_id: Annotated[str | None, Query(max_length=100)] = None,
    state: Annotated[list[State] | None, Query(description="Any of these states.")] = None,
    labels: Annotated[
        list[Label] | None, Query(max_length=50, description="key:value; every one must match.")
    ] = None,
    since: Annotated[Instant | None, Query(description="Started at or after.")] = None,
    until: Annotated[Instant | None, Query(description="Started before.")] = None,
    after: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Keyset paging: the id of the previous page's last execution "
            "(then page stays 1); stays fast however deep.",
        ),
    ] = None,
) -> Page[Execution]:
    caller.require("read")
    narrow = ExecutionFilter(
        labels=dict(label.split(":", 1) for label in labels or []),
        since=_utc(since),
        until=_utc(until),
        after_id=after,
    )
    with store.unit(read_only=True) as repos:
        found, total = repos.executions.search_executions(
            namespace,
            flow_id,
            state,
            caller.namespaces,
            limit=page.size,
            offset=page.offset,
            narrow=narrow,
        )
    secrets = secret_input_ids(store, found)
    results = [Execution.of(e, secrets[(e.namespace, e.flow_id, e.flow_revision)]) for e in found]
    return Page(results=results, total=total)


@router.post("/{execution_id}/resume", status_code=status.HTTP_202_ACCEPTED, summary="Resume")
def resume_execution(
    execution_id: ExecutionIdPath,
    caller: Caller,
    store: StoreDep,
    engine: EngineDep,
    body: ResumeIn | None = None,
) -> Execution:
    """Resume a PAUSED execution, with the Pause task's ``onResume`` inputs; answers the
    execution as it was when the command was accepted."""
    execution = visible(store, caller, execution_id, "write")
    engine.resume(execution_id, body.inputs if body else None)
    return shown(store, execution)


@router.post("/{execution_id}/restart", status_code=status.HTTP_202_ACCEPTED, summary="Restart")
def restart_execution(
    execution_id: ExecutionIdPath, caller: Caller, store: StoreDep, engine: EngineDep
) -> Execution:
    """Run a FAILED or KILLED execution's failed tasks again, in the same execution."""
    execution = visible(store, caller, execution_id, "write")
    engine.restart(execution_id)
    return shown(store, execution)


@router.post("/{execution_id}/replay", status_code=status.HTTP_201_CREATED, summary="Replay")
def replay_execution(
    execution_id: ExecutionIdPath, caller: Caller, store: StoreDep, engine: EngineDep
) -> Execution:
    """Start a new execution of the same flow revision with the same inputs and labels."""
    execution = visible(store, caller, execution_id, "write")
    replayed = engine.create_execution(
        execution.namespace,
        execution.flow_id,
        execution.inputs,
        execution.labels,
        revision=execution.flow_revision,
        coerce_inputs=False,
    )
    return shown(store, replayed)


@router.post(
    "/{namespace}/{flow_id}",
    status_code=status.HTTP_201_CREATED,
    summary="Start an execution",
    openapi_extra=_START_BODY,
)
async def start_execution(
    namespace: NamespacePath,
    flow_id: FlowIdPath,
    request: Request,
    caller: Caller,
    store: StoreDep,
    engine: EngineDep,
) -> Execution:
    """Start the latest revision of a flow with inputs and labels, sent as JSON or as
    ``multipart/form-data`` (one field per input, FILE inputs as file parts, ``labels`` as
    repeated ``key:value`` fields)."""
    caller.require("write", namespace)
    start = await _start_request(request)
    execution = await run_in_threadpool(
        _start, store, engine, namespace, flow_id, start.inputs, start.labels
    )
    return await run_in_threadpool(shown, store, execution)


@router.get("/{execution_id}", summary="Read an execution")
def read_execution(execution_id: ExecutionIdPath, caller: Caller, store: StoreDep) -> Execution:
    return shown(store, visible(store, caller, execution_id, "read"))


@router.delete("/{execution_id}/kill", status_code=status.HTTP_202_ACCEPTED, summary="Kill")
def kill_execution(
    execution_id: ExecutionIdPath, caller: Caller, store: StoreDep, engine: EngineDep
) -> Execution:
    """Kill an execution and its running tasks; answers the execution as it was when the
    command was accepted."""
    execution = visible(store, caller, execution_id, "write")
    engine.kill(execution_id)
    return shown(store, execution)


@router.get(
    "/{execution_id}/file",
    summary="Download a file of an execution",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string"}}}}},
)
def download_file(
    execution_id: ExecutionIdPath,
    caller: Caller,
    store: StoreDep,
    uri: Annotated[str, Query(max_length=2000, description="A kestra:/// URI.")],
) -> StreamingResponse:
    """A file under the execution's own storage folder (its inputs and outputs); any other
    URI gets 404."""
    execution = visible(store, caller, execution_id, "read")
    folder = execution_storage_path(execution.namespace, execution.flow_id, execution.id)
    path = uri.removeprefix(SCHEME)
    missing = NotFound(f"execution {execution_id} has no file {uri}")
    if path == uri or ".." in PurePosixPath(path).parts or not path.startswith(folder):
        raise missing
    try:
        size = store.files.size(uri)
        stream = store.files.open(uri)
    except (FileNotFoundError, StoragePathError):
        raise missing from None
    name = quote(PurePosixPath(path).name)
    return StreamingResponse(
        _chunks(stream),
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(size),
            "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
        },
    )


# -- helpers --------------------------------------------------------------------------------------


def _utc(instant: datetime | None) -> datetime | None:
    """An instant without an offset is read as UTC."""
    return instant.replace(tzinfo=UTC) if instant and instant.tzinfo is None else instant


def _start(
    store: Store,
    engine: Commands,
    namespace: str,
    flow_id: str,
    inputs: dict[str, Any],
    labels: dict[str, str],
) -> model.Execution:
    revision, flow = latest_flow(store, namespace, flow_id)
    require_enabled(flow)
    return engine.create_execution(namespace, flow_id, inputs, labels, revision=revision)


async def _start_request(request: Request) -> StartIn:
    """Inputs and labels from a JSON body (or none) or a ``multipart/form-data`` one."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return await _start_form(request)
    raw = await request.body()
    if not raw.strip():
        return StartIn()
    if kind not in ("", "application/json"):
        raise BadRequest(
            f"a start request is JSON or multipart/form-data, not {kind}",
            {"header": "Content-Type"},
        )
    try:
        return StartIn.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from None


async def _start_form(request: Request) -> StartIn:
    inputs: dict[str, Any] = {}
    labels: dict[str, str] = {}
    async with request.form() as form:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                inputs[name] = await value.read()
            elif name != "labels":
                inputs[name] = value
            elif ":" in value:
                key, _, text = value.partition(":")
                labels[key] = text
            else:
                raise RequestValidationError(
                    [{"type": "value_error", "loc": ("body", "labels"), "msg": "not key:value"}]
                )
    return StartIn(inputs=inputs, labels=labels)


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(_CHUNK):
            yield chunk


# After the routes above: a webhook's path has four segments and a log route's a literal second
# one, so none of them shadows or is shadowed by /{namespace}/{flow_id} or /{execution_id}.
router.include_router(webhooks.router)
router.include_router(executionlogs.router)
