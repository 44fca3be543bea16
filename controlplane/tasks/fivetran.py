"""Fivetran connector sync (``io.kestra.plugin.fivetran.connectors.Sync``).

Fivetran has no job id: ``POST /v1/connectors/{id}/sync`` asks for a sync, and the connector
itself (``GET /v1/connectors/{id}``) tells when one completed. The task reads the connector
before triggering; the sync is over when ``succeeded_at`` or ``failed_at`` has moved past what
it was then and ``status.sync_state`` is no longer ``syncing``. The later of the two timestamps
says how it ended. Requests use HTTP basic auth with the API key and secret.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.retrying import RetryPolicy
from controlplane.spec.plugins.syncs import FivetranSync
from controlplane.tasks import props
from controlplane.tasks.remote import (
    RemoteApi,
    WaitTimedOut,
    parse_time,
    positive,
    required,
    segment,
    timeouts,
)


@runs(FivetranSync)
def run_sync(task: FivetranSync, ctx: RunContext) -> dict[str, Any]:
    connector = required(ctx, task.connectorId, "connectorId")
    every = positive(ctx, task.pollFrequency, "pollFrequency")
    limit = positive(ctx, task.maxDuration, "maxDuration")
    with _connect(task, ctx) as api:
        path = f"/v1/connectors/{segment(connector)}"
        before = _connector(api, path)
        answer = api.json("POST", f"{path}/sync", body={"force": props.boolean(ctx, task.force)})
        message = answer.get("message") if isinstance(answer, dict) else None
        api.info(f"Fivetran: {message or f'sync of connector {connector} requested'}")
        if not props.boolean(ctx, task.wait):
            return {}
        try:
            final = _await_sync(api, connector, before, every, limit)
        except WaitTimedOut:
            api.warning(f"The sync of connector {connector} keeps running in Fivetran")
            raise
    if _has_failed(final):
        alerts = _alerts(final)
        raise api.fail(
            f"Fivetran connector {connector} sync failed at {final.get('failed_at')}"
            + (f": {alerts}" if alerts else "")
        )
    api.info(f"Fivetran connector {connector} synced at {final.get('succeeded_at')}")
    return {}


def _connect(task: FivetranSync, ctx: RunContext) -> RemoteApi:
    key = required(ctx, task.apiKey, "apiKey")
    secret = required(ctx, task.apiSecret, "apiSecret")
    attempts = props.integer(ctx, task.maxAttempts, "maxAttempts")
    if attempts < 1:
        raise TaskFailed(f"'maxAttempts' must be at least 1, got {attempts}")
    first_delay = positive(ctx, task.initialRetryDelay, "initialRetryDelay").total_seconds()
    return RemoteApi(
        ctx,
        "Fivetran",
        required(ctx, task.baseUrl, "baseUrl"),
        auth=(key, secret),
        headers={"Accept": "application/json;version=2"},
        secrets=[key],
        timeout=timeouts(ctx, task.options, 30.0),
        retry=RetryPolicy(first_delay=first_delay, max_delay=30.0, max_attempts=attempts),
        error_text=_error_text,
    )


def _await_sync(
    api: RemoteApi, connector: str, before: dict[str, Any], every: timedelta, limit: timedelta
) -> dict[str, Any]:
    """The connector once a sync that ended after ``before`` was read is over."""
    path = f"/v1/connectors/{segment(connector)}"
    previous = _completed(before)
    states = [_sync_state(before)]

    def check() -> dict[str, Any] | None:
        current = _connector(api, path)
        state = _sync_state(current)
        if state != states[-1]:
            api.info(f"Fivetran connector {connector} is {state}")
            states.append(state)
        done = _completed(current)
        moved = done is not None and (previous is None or done > previous)
        return current if moved and state != "syncing" else None

    return api.poll(check, every=every, limit=limit, what=f"Fivetran connector {connector}")


def _connector(api: RemoteApi, path: str) -> dict[str, Any]:
    answer = api.json("GET", path)
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, dict):
        raise api.fail(f"Fivetran answered GET {path} without the connector's data")
    return data


def _sync_state(connector: dict[str, Any]) -> str:
    return str((connector.get("status") or {}).get("sync_state", "unknown"))


def _completed(connector: dict[str, Any]) -> datetime | None:
    """When the last sync ended, successfully or not."""
    times = [parse_time(connector.get(k)) for k in ("succeeded_at", "failed_at")]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _has_failed(connector: dict[str, Any]) -> bool:
    """Whether the last sync failed: a failure not followed by a later success."""
    failed = parse_time(connector.get("failed_at"))
    succeeded = parse_time(connector.get("succeeded_at"))
    return failed is not None and (succeeded is None or succeeded <= failed)


def _alerts(connector: dict[str, Any]) -> str:
    status = connector.get("status") or {}
    alerts = [*(status.get("tasks") or []), *(status.get("warnings") or [])]
    return "; ".join(
        f"{alert.get('code')}: {alert.get('message')}"
        for alert in alerts
        if isinstance(alert, dict)
    )


def _error_text(body: Any) -> str | None:
    """Fivetran's error body: ``{"code": "NotFound_Connector", "message": "..."}``."""
    if not isinstance(body, dict) or not body.get("message"):
        return None
    code = body.get("code")
    return f"{code}: {body['message']}" if code else str(body["message"])
