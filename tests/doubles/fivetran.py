"""Fivetran's REST API for connectors (``https://api.fivetran.com/v1``).

``GET /v1/connectors/{id}`` answers ``{"code": "Success", "data": {id, service, schema, paused,
sync_frequency, succeeded_at, failed_at, status: {setup_state, sync_state, update_state,
is_historical_sync, tasks, warnings}}}``; ``POST /v1/connectors/{id}/sync`` with ``{"force"}``
answers ``{"code": "Success", "message": "Sync has been successfully triggered for connector with
id '...'"}``. While a sync runs ``sync_state`` is ``syncing``; when it ends, ``succeeded_at`` or
``failed_at`` takes the end time, ``sync_state`` goes back to ``scheduled``, and a failure is
described by an alert in ``status.tasks``. Errors are ``{"code", "message"}``. Auth is HTTP basic
with the API key and secret.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from tests.doubles import Received, Reply, ServiceDouble, utc_now

PREVIOUS_SYNC = "2024-05-01T08:00:00.000Z"


@dataclass
class _Connector:
    id: str
    succeeded_at: str | None = PREVIOUS_SYNC
    failed_at: str | None = None
    syncing: bool = False
    outcome: str = "succeeded"
    reads: int = 0
    alerts: tuple[dict[str, str], ...] = ()


class FivetranDouble(ServiceDouble):
    def __init__(
        self,
        *,
        key: str = "api-key",
        secret: str = "api-secret",
        connectors: tuple[str, ...] = ("c1",),
    ) -> None:
        super().__init__()
        self.outcomes = ["succeeded"]
        self.key, self.secret = key, secret
        self.connectors = {name: _Connector(name) for name in connectors}
        self.failure = {
            "code": "sync_failed",
            "message": "Unable to connect to the source database",
        }

    def handle(self, request: Received) -> Reply:
        expected = "Basic " + base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return Reply(401, {"code": "AuthFailed", "message": "Invalid API key or secret"})
        parts = request.path.strip("/").split("/")
        if parts[:2] != ["v1", "connectors"] or len(parts) not in (3, 4):
            return Reply(404, {"code": "NotFound", "message": f"No route {request.path}"})
        connector = self.connectors.get(parts[2])
        if connector is None:
            message = f"Connector with id '{parts[2]}' doesn't exist"
            return Reply(404, {"code": "NotFound_Connector", "message": message})
        if len(parts) == 4 and parts[3] == "sync" and request.method == "POST":
            return self.take(self.trigger_faults) or self._sync(connector, request.body or {})
        if len(parts) == 3 and request.method == "GET":
            fault = self.take(self.poll_faults) if connector.syncing else None
            return fault or self._read(connector)
        return Reply(405, {"code": "MethodNotAllowed", "message": "Method not allowed"})

    def _sync(self, connector: _Connector, body: dict[str, Any]) -> Reply:
        if not isinstance(body.get("force", False), bool):
            return Reply(400, {"code": "InvalidInput", "message": "force must be a boolean"})
        if not connector.syncing or body.get("force"):
            connector.syncing, connector.reads = True, 0
            connector.outcome = self.next_outcome()
        message = f"Sync has been successfully triggered for connector with id '{connector.id}'"
        return Reply(200, {"code": "Success", "message": message})

    def _read(self, connector: _Connector) -> Reply:
        if connector.syncing:
            connector.reads += 1
            if not self.never_finish and connector.reads > self.polls:
                connector.syncing = False
                if connector.outcome == "succeeded":
                    connector.succeeded_at, connector.alerts = utc_now(), ()
                else:
                    connector.failed_at, connector.alerts = utc_now(), (dict(self.failure),)
        data = {
            "id": connector.id,
            "group_id": "projected_sickle",
            "service": "postgres",
            "schema": "postgres_public",
            "paused": False,
            "sync_frequency": 360,
            "schedule_type": "manual",
            "succeeded_at": connector.succeeded_at,
            "failed_at": connector.failed_at,
            "status": {
                "setup_state": "connected",
                "sync_state": "syncing" if connector.syncing else "scheduled",
                "update_state": "on_schedule",
                "is_historical_sync": False,
                "tasks": list(connector.alerts),
                "warnings": [],
            },
        }
        return Reply(200, {"code": "Success", "data": data})
