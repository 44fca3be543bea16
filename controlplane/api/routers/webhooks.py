"""Starting a flow from its Webhook trigger: ``/executions/webhook/{namespace}/{flow_id}/{key}``.

No token is needed: the key is the credential.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from controlplane.api.deps import EngineDep, FlowIdPath, NamespacePath, StoreDep
from controlplane.api.errors import BadRequest, NotFound, Unprocessable
from controlplane.api.executionviews import Execution, latest_flow, require_enabled, shown
from controlplane.engine import model
from controlplane.engine.commands import Commands
from controlplane.engine.conditions import holds
from controlplane.engine.ports import Store
from controlplane.engine.triggercontext import trigger_context
from controlplane.expr import ExpressionError, has_expression
from controlplane.spec.flow import Flow
from controlplane.spec.plugins.triggers import Webhook

router = APIRouter()

_WEBHOOK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "description": "trigger.body: parsed when JSON, else text.",
        "content": {"application/json": {"schema": {}}, "text/plain": {"schema": {}}},
    }
}


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
        return await run_in_threadpool(shown, store, execution)
    ended = await _ended(request, engine, execution.id)
    if webhook.returnOutputs:
        return _outputs_answer(ended, webhook.responseContentType)
    return await run_in_threadpool(shown, store, ended)


def _webhook_revision(
    store: Store, engine: Commands, namespace: str, flow_id: str, key: str
) -> tuple[int, Flow, Webhook]:
    """The revision to start, its flow, and its enabled Webhook trigger with ``key``."""
    missing = NotFound(f"no webhook of flow {namespace}/{flow_id} has this key")
    try:
        revision, flow = latest_flow(store, namespace, flow_id)
    except NotFound:
        raise missing from None
    # A key may come from the server's environment ({{ envs.webhook_key }}), e.g. a Secret.
    context = trigger_context(engine.settings, flow, revision)
    webhooks = [t for t in flow.triggers if isinstance(t, Webhook) and not t.disabled]
    found = next((w for w in webhooks if _same_key(engine, w.key, key, context)), None)
    if found is None or _toggled_off(store, namespace, flow_id, found.id):
        raise missing
    require_enabled(flow)
    return revision, flow, found


def _toggled_off(store: Store, namespace: str, flow_id: str, trigger_id: str) -> bool:
    """Switched off by trigger.Toggle (its state document says so)."""
    with store.unit(read_only=True) as repos:
        state = repos.triggers.read_trigger_state(namespace, flow_id, trigger_id)
    return state is not None and state.get("disabled") is True


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
