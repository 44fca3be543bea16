"""Executions: start (JSON, form or webhook), read, search, kill, resume, restart, their logs
(read or followed as Server-Sent Events) and their files.

Executions are read from the store, never from the engine's memory: what the API answers is
what was persisted, whichever process runs the executor. An execution id outside a restricted
token's reach gets 403 whether or not it exists, so ids cannot be probed.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Annotated, Any, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, Header, Path, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from controlplane.api.auth import Caller, Principal
from controlplane.api.deps import (
    ApiModel,
    EngineDep,
    FlowIdPath,
    NamespacePath,
    Page,
    PageDep,
    StoreDep,
)
from controlplane.api.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from controlplane.api.logstream import LogLine, log_events
from controlplane.api.secretinputs import masked, secret_input_ids
from controlplane.engine import model
from controlplane.engine.commands import Commands
from controlplane.engine.conditions import holds
from controlplane.engine.flowcache import flow_cache
from controlplane.engine.model import State
from controlplane.engine.ports import (
    ExecutionFilter,
    LogLevel,
    Store,
    execution_storage_path,
)
from controlplane.engine.triggercontext import trigger_context
from controlplane.expr import ExpressionError, has_expression
from controlplane.spec.flow import Flow
from controlplane.spec.plugins.triggers import Webhook
from controlplane.store import StoragePathError
from controlplane.store.files import SCHEME
from controlplane.store.serverports import Scope

router = APIRouter(prefix="/executions", tags=["executions"])

_CHUNK = 1024 * 1024

ExecutionIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]+$", max_length=100)]
Label = Annotated[str, StringConstraints(pattern=r"^[^:]+:.*$", max_length=300)]


def _date_and_time(value: Any) -> Any:
    """A date and a time, as text: not the bare number (seconds since 1970) or the date alone
    that pydantic would also take for a datetime."""
    if isinstance(value, str) and not re.match(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}", value):
        raise ValueError("not a date and time such as 2026-01-31T08:00:00Z")
    return value


Instant = Annotated[datetime, BeforeValidator(_date_and_time)]


class FlowDisabled(Conflict):
    code = "flow_disabled"


class ExecutionEnded(Conflict):
    code = "execution_ended"


class NotPaused(Conflict):
    code = "not_paused"


# -- shapes ---------------------------------------------------------------------------------------


class Transition(BaseModel):
    state: State
    date: datetime


class StateHistory(BaseModel):
    current: State
    histories: list[Transition]


class TaskRun(BaseModel):
    """A task run as the engine keeps it, its state as ``{current, histories}``."""

    model_config = ConfigDict(extra="allow")

    id: str
    taskId: str
    state: StateHistory
    outputs: dict[str, Any]


class Execution(BaseModel):
    """An execution as the engine keeps it, in Kestra's shape: ``state: {current, histories}``,
    ``taskRunList``, ``parentId``."""

    model_config = ConfigDict(extra="allow")

    id: str
    namespace: str
    flowId: str
    flowRevision: int
    state: StateHistory
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    labels: dict[str, str]
    taskRunList: list[TaskRun]
    trigger: dict[str, Any] | None
    parentId: str | None

    @classmethod
    def of(cls, execution: model.Execution, secret_ids: set[str]) -> Execution:
        data = _with_state_history(execution.to_dict())
        data["inputs"] = masked(data["inputs"], secret_ids)
        data["taskRunList"] = [_with_state_history(run) for run in data.pop("taskRuns")]
        data["parentId"] = execution.parent.execution_id if execution.parent else None
        return cls.model_validate(data)


def _shown(store: Store, execution: model.Execution) -> Execution:
    """The execution as answered, its SECRET inputs masked."""
    (secret_ids,) = secret_input_ids(store, [execution]).values()
    return Execution.of(execution, secret_ids)


def _with_state_history(data: dict[str, Any]) -> dict[str, Any]:
    history = data.pop("history")
    return {**data, "state": {"current": data["state"], "histories": history}}


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

_WEBHOOK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "description": "trigger.body: parsed when JSON, else text.",
        "content": {"application/json": {"schema": {}}, "text/plain": {"schema": {}}},
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


_WEBHOOK_PATH = "/webhook/{namespace}/{flow_id}/{key}"
_WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "With `wait` and `returnOutputs`: the flow's outputs, as JSON unless "
        "`responseContentType` says otherwise.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    204: {"description": "The trigger's conditions do not hold: no execution was created."},
}


@router.get(
    _WEBHOOK_PATH,
    status_code=status.HTTP_201_CREATED,
    summary="Start a flow from its Webhook trigger (GET)",
    response_model=Execution,
    responses=_WEBHOOK_RESPONSES,
)
@router.put(
    _WEBHOOK_PATH,
    status_code=status.HTTP_201_CREATED,
    summary="Start a flow from its Webhook trigger (PUT)",
    openapi_extra=_WEBHOOK_BODY,
    response_model=Execution,
    responses=_WEBHOOK_RESPONSES,
)
@router.post(
    _WEBHOOK_PATH,
    status_code=status.HTTP_201_CREATED,
    summary="Start a flow from its Webhook trigger",
    openapi_extra=_WEBHOOK_BODY,
    response_model=Execution,
    responses=_WEBHOOK_RESPONSES,
)
async def start_by_webhook(
    namespace: NamespacePath,
    flow_id: FlowIdPath,
    key: Annotated[str, Path(max_length=1000)],
    request: Request,
    store: StoreDep,
    engine: EngineDep,
) -> Execution | Response:
    """No token is needed: the key is the credential. A missing flow, trigger or key all get
    the same 404. ``trigger`` is ``{body, headers, parameters}`` (headers and query parameters
    as name -> list of values, without credentials); the trigger's ``conditions`` and
    ``inputs`` are rendered with it and ``flow``. Conditions that do not hold: 204 and no
    execution; inputs that do not render: 422. With ``wait`` the answer comes once the
    execution ended (or the caller left); with ``returnOutputs`` too, it is the flow's
    outputs."""
    revision, flow, webhook = await run_in_threadpool(
        _webhook_revision, store, engine, namespace, flow_id, key
    )
    trigger = {
        "body": await _webhook_body(request),
        "headers": _multi(request.headers.items(), _PRIVATE_HEADERS),
        "parameters": _multi(request.query_params.multi_items()),
    }
    execution = await run_in_threadpool(_start_by_webhook, engine, revision, flow, webhook, trigger)
    if execution is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    if not webhook.wait:
        return await run_in_threadpool(_shown, store, execution)
    ended = await _ended(request, engine, execution.id)
    if webhook.returnOutputs:
        return _outputs_answer(ended, webhook.responseContentType)
    return await run_in_threadpool(_shown, store, ended)


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
    execution = _visible(store, caller, execution_id, "write")
    if execution.state is not State.PAUSED:
        raise NotPaused(
            f"execution {execution_id} is {execution.state.value}, not PAUSED; "
            "only a paused execution can be resumed"
        )
    engine.resume(execution_id, body.inputs if body else None)
    return _shown(store, execution)


@router.post("/{execution_id}/restart", status_code=status.HTTP_202_ACCEPTED, summary="Restart")
def restart_execution(
    execution_id: ExecutionIdPath, caller: Caller, store: StoreDep, engine: EngineDep
) -> Execution:
    """Run a FAILED or KILLED execution's failed tasks again, in the same execution."""
    execution = _visible(store, caller, execution_id, "write")
    engine.restart(execution_id)
    return _shown(store, execution)


@router.post("/{execution_id}/replay", status_code=status.HTTP_201_CREATED, summary="Replay")
def replay_execution(
    execution_id: ExecutionIdPath, caller: Caller, store: StoreDep, engine: EngineDep
) -> Execution:
    """Start a new execution of the same flow revision with the same inputs and labels."""
    execution = _visible(store, caller, execution_id, "write")
    replayed = engine.create_execution(
        execution.namespace,
        execution.flow_id,
        execution.inputs,
        execution.labels,
        revision=execution.flow_revision,
        coerce_inputs=False,
    )
    return _shown(store, replayed)


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
    return await run_in_threadpool(_shown, store, execution)


@router.get("/{execution_id}", summary="Read an execution")
def read_execution(execution_id: ExecutionIdPath, caller: Caller, store: StoreDep) -> Execution:
    return _shown(store, _visible(store, caller, execution_id, "read"))


@router.delete("/{execution_id}/kill", status_code=status.HTTP_202_ACCEPTED, summary="Kill")
def kill_execution(
    execution_id: ExecutionIdPath, caller: Caller, store: StoreDep, engine: EngineDep
) -> Execution:
    """Kill an execution and its running tasks; answers the execution as it was when the
    command was accepted."""
    execution = _visible(store, caller, execution_id, "write")
    if execution.state.terminal:
        raise ExecutionEnded(
            f"execution {execution_id} already ended {execution.state.value}; "
            "there is nothing to kill"
        )
    engine.kill(execution_id)
    return _shown(store, execution)


@router.get("/{execution_id}/logs", summary="Read an execution's logs")
def list_logs(
    execution_id: ExecutionIdPath,
    caller: Caller,
    store: StoreDep,
    min_level: LogLevel = "TRACE",
    after: Annotated[int, Query(ge=0, description="The last seq already read.")] = 0,
) -> list[LogLine]:
    _visible(store, caller, execution_id, "read")
    with store.unit(read_only=True) as repos:
        entries = repos.logs.list_logs(execution_id, min_level, after)
    return [LogLine.of(seq, entry) for seq, entry in entries]


@router.get(
    "/{execution_id}/logs/follow",
    summary="Follow an execution's logs",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def follow_logs(
    execution_id: ExecutionIdPath,
    request: Request,
    caller: Caller,
    store: StoreDep,
    min_level: LogLevel = "TRACE",
    after: Annotated[int, Query(ge=0, description="The last seq already read.")] = 0,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0)] = None,
) -> StreamingResponse:
    """Server-Sent Events: ``event: log`` with a LogLine (its ``seq`` as the event id) for
    each line, then one ``event: end`` with ``{"state": ...}`` once the execution is over and
    every line was sent. A reconnecting client's ``Last-Event-ID`` resumes after that line."""
    await run_in_threadpool(_visible, store, caller, execution_id, "read")
    start = max(after, last_event_id or 0)
    return StreamingResponse(
        log_events(request, store, execution_id, min_level, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


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
    execution = _visible(store, caller, execution_id, "read")
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


def _visible(store: Store, caller: Principal, execution_id: str, scope: Scope) -> model.Execution:
    """The execution, once the caller may act on it with ``scope``."""
    caller.require(scope)
    with store.unit(read_only=True) as repos:
        execution = repos.executions.read_execution(execution_id)
    if execution is not None and caller.sees(execution.namespace):
        return execution
    if caller.unrestricted:
        raise NotFound(f"execution {execution_id} does not exist")
    raise Forbidden(
        f"the token does not reach execution {execution_id}",
        {"namespaces": list(caller.namespaces)},
    )


def _flow(store: Store, namespace: str, flow_id: str) -> tuple[int, Flow]:
    """The latest revision of a flow and its model; 404 when there is none."""
    with store.unit(read_only=True) as repos:
        record = repos.flows.read_flow(namespace, flow_id)
    if record is None:
        raise NotFound(f"flow {namespace}/{flow_id} does not exist")
    return record.revision, flow_cache(store).parse(record)


def _require_enabled(flow: Flow) -> None:
    if flow.disabled:
        raise FlowDisabled(
            f"flow {flow.ref} is disabled; set 'disabled: false' in it to start executions"
        )


def _start(
    store: Store,
    engine: Commands,
    namespace: str,
    flow_id: str,
    inputs: dict[str, Any],
    labels: dict[str, str],
) -> model.Execution:
    revision, flow = _flow(store, namespace, flow_id)
    _require_enabled(flow)
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


def _webhook_revision(
    store: Store, engine: Commands, namespace: str, flow_id: str, key: str
) -> tuple[int, Flow, Webhook]:
    """The revision to start, its flow, and its enabled Webhook trigger with ``key``."""
    missing = NotFound(f"no webhook of flow {namespace}/{flow_id} has this key")
    try:
        revision, flow = _flow(store, namespace, flow_id)
    except NotFound:
        raise missing from None
    # A key may come from the server's environment ({{ envs.webhook_key }}), e.g. a Secret.
    context = trigger_context(engine.settings, flow, revision)
    webhooks = [t for t in flow.triggers if isinstance(t, Webhook) and not t.disabled]
    found = next((w for w in webhooks if _same_key(engine, w.key, key, context)), None)
    if found is None:
        raise missing
    _require_enabled(flow)
    return revision, flow, found


_PRIVATE_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


def _multi(
    items: Iterable[tuple[str, str]], leave_out: frozenset[str] = frozenset()
) -> dict[str, list[str]]:
    """Repeated names as one list of values, in order (Kestra's headers and parameters)."""
    values: dict[str, list[str]] = {}
    for name, value in items:
        if name.lower() not in leave_out:
            values.setdefault(name, []).append(value)
    return values


def _start_by_webhook(
    engine: Commands, revision: int, flow: Flow, webhook: Webhook, trigger: dict[str, Any]
) -> model.Execution | None:
    """The execution of a webhook call, or None when the trigger's conditions do not hold."""
    context = trigger_context(engine.settings, flow, revision, trigger)
    where = f"flow {flow.ref} webhook trigger {webhook.id}"
    if not holds(webhook.conditions, context, engine.renderer, where=where):
        return None
    try:
        inputs = engine.renderer.render_value(webhook.inputs, context, typed=True)
        labels = {name: engine.renderer.render(v, context) for name, v in webhook.labels.items()}
    except ExpressionError as exc:
        raise Unprocessable(
            f"the inputs or labels of webhook trigger '{webhook.id}' of flow {flow.ref} cannot "
            f"be rendered from this request: {exc}",
            {"trigger": webhook.id},
        ) from None
    return engine.create_execution(
        flow.namespace, flow.id, inputs, labels, trigger=trigger, revision=revision
    )


async def _ended(request: Request, engine: Commands, execution_id: str) -> model.Execution:
    """The execution once it ended, or as it is when the caller hung up."""
    while True:
        execution = await run_in_threadpool(engine.wait, execution_id, 1.0)
        if execution.state.terminal or await request.is_disconnected():
            return execution


def _outputs_answer(execution: model.Execution, content_type: str | None) -> Response:
    """The flow's outputs: JSON, or the one text output as is for a non-JSON content type."""
    outputs = execution.outputs or {}
    kind = content_type or "application/json"
    json_like = kind.partition(";")[0].strip().lower().endswith("json")
    only = next(iter(outputs.values())) if len(outputs) == 1 else None
    if not json_like and isinstance(only, str):
        return Response(only, media_type=kind)
    return Response(json.dumps(outputs), media_type=kind)


def _same_key(engine: Commands, declared: str, given: str, context: dict[str, Any]) -> bool:
    expected = declared
    if has_expression(declared):
        try:
            expected = engine.renderer.render(declared, context)
        except ExpressionError:
            return False
    return hmac.compare_digest(expected.encode(), given.encode())


async def _webhook_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        try:
            return json.loads(raw)
        except ValueError:
            raise BadRequest("the body is not valid JSON, as its Content-Type says") from None
    return raw.decode(errors="replace")


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(_CHUNK):
            yield chunk
