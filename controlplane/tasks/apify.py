"""Apify's API v2: Actor runs and dataset items.

``actor.Run`` sends ``POST /acts/{actor}/runs`` with the input as the JSON body and the run's
limits as query parameters; the answer's ``data`` (the run) is the task's outputs. An
``owner/name`` actor id is sent as ``owner~name``, the form Apify's API takes. Like Kestra's
plugin, the task does not wait for the run beyond ``waitForFinish``.

``dataset.Get`` reads ``GET /datasets/{id}/items`` with Apify's documented parameter names
(``clean``, ``desc``, ...), again every two seconds while the dataset is empty (a run that
is still writing it), up to the task's ``timeout`` or five minutes.

Requests carry ``apiToken`` as a bearer token; an error fails the task with Apify's
``error.message``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.durations import format_duration
from controlplane.spec.plugins.apify import APIFY_URL, ApifyActorRun, ApifyDatasetGet, _Apify
from controlplane.tasks import props
from controlplane.tasks.remote import RemoteApi, WaitTimedOut, required, segment, timeouts

_MEMORY = frozenset(2**n for n in range(7, 16))
_EMPTY_WAIT = timedelta(minutes=5)
_EMPTY_EVERY = timedelta(seconds=2)


def _api(task: _Apify, ctx: RunContext) -> RemoteApi:
    token = required(ctx, task.apiToken, "apiToken")
    return RemoteApi(
        ctx,
        "Apify",
        os.environ.get("APIFY_BASE_URL", APIFY_URL),
        headers={"Authorization": f"Bearer {token}"},
        secrets=[token],
        timeout=timeouts(ctx, task.options, 60.0),
        error_text=_error_text,
    )


def _error_text(body: Any) -> str | None:
    """Apify's ``{"error": {"type", "message"}}``."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    message, kind = error.get("message"), error.get("type")
    return f"{message} ({kind})" if message and kind else message or kind


def _memory(ctx: RunContext, value: str | int) -> int:
    rendered = props.text(ctx, value) if isinstance(value, str) else str(value)
    text = rendered.strip().upper().removeprefix("MB_")
    if not text.isdigit() or int(text) not in _MEMORY:
        raise TaskFailed(
            f"'memory' must be a power of two from MB_128 to MB_32768, got {rendered!r}"
        )
    return int(text)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _run_params(task: ApifyActorRun, ctx: RunContext) -> dict[str, str]:
    params: dict[str, str] = {}
    if task.requestTimeout is not None:
        params["timeout"] = _number(float(props.text(ctx, task.requestTimeout)))
    if task.memory is not None:
        params["memory"] = str(_memory(ctx, task.memory))
    if task.maxItems is not None:
        params["maxItems"] = str(props.integer(ctx, task.maxItems, "maxItems"))
    if task.maxTotalChargeUsd is not None:
        params["maxTotalChargeUsd"] = _number(float(props.text(ctx, task.maxTotalChargeUsd)))
    if task.build is not None:
        params["build"] = props.text(ctx, task.build)
    if task.waitForFinish is not None:
        wait = props.integer(ctx, task.waitForFinish, "waitForFinish")
        if not 0 <= wait <= 60:
            raise TaskFailed(f"'waitForFinish' must be between 0 and 60 seconds, got {wait}")
        params["waitForFinish"] = str(wait)
    if task.webhooks is not None:
        params["webhooks"] = props.text(ctx, task.webhooks)
    return params


@runs(ApifyActorRun)
def run_actor(task: ApifyActorRun, ctx: RunContext) -> dict[str, Any]:
    actor = required(ctx, task.actorId, "actorId").replace("/", "~")
    body = props.mapping(ctx, task.input, "input")
    params = _run_params(task, ctx)
    with _api(task, ctx) as api:
        answer = api.json("POST", f"/acts/{segment(actor)}/runs", body=body, params=params)
        run = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(run, dict):
            raise api.fail("Apify answered the Actor run without its data")
        api.info(f"Apify Actor {actor}: run {run.get('id')} is {run.get('status')}")
    return run


def _flag(ctx: RunContext, value: bool | str) -> str:
    return "1" if props.boolean(ctx, value) else "0"


def _dataset_params(task: ApifyDatasetGet, ctx: RunContext) -> dict[str, str]:
    sort = props.text(ctx, task.sort).strip().upper()
    if sort not in ("ASC", "DESC"):
        raise TaskFailed(f"'sort' must be ASC or DESC, got {sort!r}")
    params = {
        "clean": _flag(ctx, task.clean),
        "offset": str(props.integer(ctx, task.offset, "offset")),
        "limit": str(props.integer(ctx, task.limit, "limit")),
        "desc": "1" if sort == "DESC" else "0",
        "flatten": _flag(ctx, task.flatten),
        "skipEmpty": _flag(ctx, task.skipEmpty),
        "skipFailedPages": _flag(ctx, task.skipFailedPages),
        "skipHidden": _flag(ctx, task.skipHidden),
        "simplified": _flag(ctx, task.simplified),
        "format": "json",
    }
    for name, value in (("fields", task.fields), ("omit", task.omit), ("unwind", task.unwind)):
        items = props.string_list(ctx, value, name)
        if items:
            params[name] = ",".join(items)
    view = props.optional_text(ctx, task.view)
    if view:
        params["view"] = view
    return params


@runs(ApifyDatasetGet)
def run_dataset_get(task: ApifyDatasetGet, ctx: RunContext) -> dict[str, Any]:
    dataset = required(ctx, task.datasetId, "datasetId")
    params = _dataset_params(task, ctx)
    path = f"/datasets/{segment(dataset)}/items"
    with _api(task, ctx) as api:

        def check() -> list[Any] | None:
            items = api.json("GET", path, params=params)
            if not isinstance(items, list):
                raise api.fail(f"Apify answered the items of dataset {dataset} with no list")
            if not items:
                api.debug(f"Dataset {dataset} is empty so far")
            return items or None

        limit = task.timeout or _EMPTY_WAIT
        try:
            items = api.poll(check, every=_EMPTY_EVERY, limit=limit, what=f"dataset {dataset}")
        except WaitTimedOut:
            raise TaskFailed(
                f"Dataset {dataset} was still empty after {format_duration(limit)}; try again "
                "later or give the task a longer 'timeout'"
            ) from None
        api.info(f"Read {len(items)} item(s) of dataset {dataset}")
    return {"dataset": items}
