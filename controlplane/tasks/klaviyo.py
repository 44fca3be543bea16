"""Klaviyo's API (``https://a.klaviyo.com/api``): one ``GET`` per id, its ``data`` a row.

Requests carry ``Authorization: Klaviyo-API-Key <key>``, the API ``revision`` Kestra's plugin
pins and JSON:API's media type. Kestra's plugin waits a second before each call to stay under
Klaviyo's rate limits; Weir calls at once and, on a ``429``, waits as ``Retry-After`` says
(RemoteApi's retries). An error fails the task with the ``detail`` of Klaviyo's ``errors``.
"""

from __future__ import annotations

from typing import Any

from controlplane.engine.runnable import RunContext, runs
from controlplane.spec.plugins.klaviyo import (
    KlaviyoCampaignGet,
    KlaviyoRecipientCount,
    KlaviyoSendJob,
    _Klaviyo,
)
from controlplane.tasks import props
from controlplane.tasks.fetched import fetch_type, fetched
from controlplane.tasks.remote import RemoteApi, required, segment

REVISION = "2025-10-15"


def _error_text(body: Any) -> str | None:
    """JSON:API errors: each one's ``detail`` (or ``title``), joined."""
    if not isinstance(body, dict):
        return None
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    return "; ".join(str(e.get("detail") or e.get("title")) for e in errors) or None


def _read(
    task: _Klaviyo, ctx: RunContext, ids: list[str] | str, name: str, collection: str, what: str
) -> dict[str, Any]:
    kind = fetch_type(ctx, task.fetchType)
    key = required(ctx, task.apiKey, "apiKey")
    rows: list[dict[str, Any]] = []
    with RemoteApi(
        ctx,
        "Klaviyo",
        required(ctx, task.baseUrl, "baseUrl"),
        headers={
            "Authorization": f"Klaviyo-API-Key {key}",
            "revision": REVISION,
            "Accept": "application/vnd.api+json",
        },
        secrets=[key],
        timeout=(30.0, 60.0),
        error_text=_error_text,
    ) as api:
        for item in props.string_list(ctx, ids, name):
            answer = api.json("GET", f"/{collection}/{segment(item)}")
            data = answer.get("data") if isinstance(answer, dict) else None
            if isinstance(data, dict):
                rows.append(data)
        api.info(f"Retrieved {len(rows)} {what}")
    outputs = fetched(ctx, kind, rows, "klaviyo.ion")
    outputs["size"] = len(rows)
    return outputs


@runs(KlaviyoCampaignGet)
def run_campaign_get(task: KlaviyoCampaignGet, ctx: RunContext) -> dict[str, Any]:
    return _read(task, ctx, task.campaignIds, "campaignIds", "campaigns", "campaign(s)")


@runs(KlaviyoRecipientCount)
def run_recipient_count(task: KlaviyoRecipientCount, ctx: RunContext) -> dict[str, Any]:
    return _read(
        task,
        ctx,
        task.campaignIds,
        "campaignIds",
        "campaign-recipient-estimations",
        "recipient estimation(s)",
    )


@runs(KlaviyoSendJob)
def run_send_job(task: KlaviyoSendJob, ctx: RunContext) -> dict[str, Any]:
    return _read(task, ctx, task.jobIds, "jobIds", "campaign-send-jobs", "send job(s)")
