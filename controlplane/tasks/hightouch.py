"""Hightouch sync run (``io.kestra.plugin.hightouch.Sync``).

``GET /api/v1/syncs/{id}`` names the sync (its slug), ``POST /api/v1/syncs/{id}/trigger`` with
``fullResync`` starts a run and gives its id, and ``GET /api/v1/syncs/{id}/runs?runId=...`` reads
the run until it ends. A run ending ``success``, ``warning`` or ``completed_with_errors`` is a
success (rows that failed are reported); ``failed``, ``cancelled`` and ``interrupted`` fail the
task with the run's ``error``. Requests carry the API key as a bearer token.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from controlplane.engine.runnable import RunContext, runs
from controlplane.spec.durations import format_duration
from controlplane.spec.plugins.syncs import HightouchSync
from controlplane.tasks import props
from controlplane.tasks.remote import (
    RemoteApi,
    WaitTimedOut,
    parse_time,
    positive,
    required,
    timeouts,
)

_SUCCEEDED = frozenset({"success", "warning", "completed_with_errors"})
_ENDED = _SUCCEEDED | {"failed", "cancelled", "interrupted"}
_ALIASES = {
    "canceled": "cancelled",
    "cancelled_by_user": "cancelled",
    "canceled_by_user": "cancelled",
    "completed": "success",
    "complete": "success",
    "aborted_due_to_fatal_error": "failed",
    "completed_with_error": "completed_with_errors",
}
_METADATA = (
    "id",
    "plannedRows",
    "successfulRows",
    "failedRows",
    "querySize",
    "status",
    "createdAt",
    "startedAt",
    "finishedAt",
    "completionRatio",
    "error",
)
_ROW_METRICS = (
    ("successfulRows", "rows.successfully"),
    ("failedRows", "rows.failed"),
)


@runs(HightouchSync)
def run_sync(task: HightouchSync, ctx: RunContext) -> dict[str, Any]:
    token = required(ctx, task.token, "token")
    sync_id = props.integer(ctx, task.syncId, "syncId")
    with RemoteApi(
        ctx,
        "Hightouch",
        required(ctx, task.url, "url"),
        headers={"Authorization": f"Bearer {token}"},
        secrets=[token],
        timeout=timeouts(ctx, task.options, 30.0),
        error_text=_error_text,
    ) as api:
        details = api.json("GET", f"/api/v1/syncs/{sync_id}")
        name = f"[syncId={sync_id}] {details.get('slug') if isinstance(details, dict) else ''}"
        answer = api.json(
            "POST",
            f"/api/v1/syncs/{sync_id}/trigger",
            body={"fullResync": props.boolean(ctx, task.fullResynchronization)},
        )
        run_id = _run_id(api, answer)
        api.info(f"{name}: run {run_id} triggered")
        if not props.boolean(ctx, task.wait):
            return {"runId": run_id}
        every = positive(ctx, task.pollFrequency, "pollFrequency")
        limit = positive(ctx, task.maxDuration, "maxDuration")
        try:
            run = _await_run(api, sync_id, run_id, name, every, limit)
        except WaitTimedOut as exc:
            api.warning(f"Hightouch sync run {run_id} keeps running: it was not cancelled")
            exc.outputs["runId"] = run_id
            raise
    metadata = {key: run.get(key) for key in _METADATA if key in run}
    outputs = {"runId": run_id, "metadata": metadata}
    status = _status(run)
    if status not in _SUCCEEDED:
        error = run.get("error")
        raise api.fail(
            f"Hightouch sync run {run_id} ended with status '{status}' after {_took(run)}"
            + (f": {error}" if error else ""),
            outputs,
        )
    if status != "success":
        api.warning(f"Run {run_id} completed with errors: failed rows {run.get('failedRows')}")
    _metrics(ctx, run)
    return outputs


def _await_run(
    api: RemoteApi, sync_id: int, run_id: int | str, name: str, every: timedelta, limit: timedelta
) -> dict[str, Any]:
    """The run once it has ended, its status changes logged on the way."""
    seen: list[str] = []

    def check() -> dict[str, Any] | None:
        listing = api.json("GET", f"/api/v1/syncs/{sync_id}/runs", params={"runId": str(run_id)})
        listed = listing.get("data") if isinstance(listing, dict) else None
        run = next(
            (r for r in listed or [] if isinstance(r, dict) and str(r.get("id")) == str(run_id)),
            None,
        )
        if run is None:
            api.debug(f"{name}: run {run_id} is not listed yet")
            return None
        status = _status(run)
        if not seen or seen[-1] != status:
            api.info(f"{name}: [runId={run_id}] is now {status}")
            seen.append(status)
        return run if status in _ENDED else None

    return api.poll(check, every=every, limit=limit, what=f"Hightouch sync run {run_id}")


def _error_text(body: Any) -> str | None:
    """Hightouch's error body: ``{"message"}``, with ``details`` for a validation error."""
    if not isinstance(body, dict) or not body.get("message"):
        return None
    details = body.get("details")
    return f"{body['message']}: {json.dumps(details)}" if details else str(body["message"])


def _run_id(api: RemoteApi, answer: Any) -> int | str:
    value = answer.get("id") if isinstance(answer, dict) else None
    if value is None or str(value).strip() == "":
        raise api.fail("Hightouch answered the trigger without a run id")
    text = str(value).strip()
    return int(text) if text.isdigit() else text


def _status(run: dict[str, Any]) -> str:
    status = str(run.get("status", "unknown")).strip().lower().replace("-", "_").replace(" ", "_")
    return _ALIASES.get(status, status)


def _took(run: dict[str, Any]) -> str:
    created, finished = parse_time(run.get("createdAt")), parse_time(run.get("finishedAt"))
    if created is None or finished is None:
        return "an unknown time"
    return format_duration(finished - created)


def _metrics(ctx: RunContext, run: dict[str, Any]) -> None:
    ratio = run.get("completionRatio")
    if isinstance(ratio, int | float):
        ctx.metric("completion.ratio", ratio)
    for key, prefix in _ROW_METRICS:
        rows = run.get(key) or {}
        for count in ("added", "removed", "changed"):
            value = rows.get(f"{count}Count")
            if isinstance(value, int | float):
                ctx.metric(f"{prefix}.{count}", value)
