"""The calls on triggers: their states as the schedulers keep them, and the backfills of Schedule
triggers (``client.triggers.backfill(...)``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controlplane.client.models import Json, parse_time
from controlplane.client.transport import Transport, endpoint


@dataclass(frozen=True)
class Backfill:
    """A replay of the slots of ``[start, end)`` of a Schedule trigger, and how far it got."""

    id: str
    start: datetime
    end: datetime
    cursor: datetime
    handled: int
    created: int
    total: int | None
    done: bool
    paused: bool
    inputs: dict[str, Any]
    labels: dict[str, str]
    source: str

    @classmethod
    def from_json(cls, data: Json) -> Backfill:
        start = datetime.fromisoformat(data["start"])
        return cls(
            id=data["id"],
            start=start,
            end=datetime.fromisoformat(data["end"]),
            cursor=parse_time(data.get("cursor")) or start,
            handled=int(data.get("handled") or 0),
            created=int(data.get("created") or 0),
            total=data.get("total"),
            done=bool(data.get("done", False)),
            paused=bool(data.get("paused", False)),
            inputs=data.get("inputs") or {},
            labels=data.get("labels") or {},
            source=str(data.get("source") or "api"),
        )


@dataclass(frozen=True)
class TriggerState:
    namespace: str
    flow_id: str
    trigger_id: str
    type: str | None
    next: datetime | None
    last: datetime | None
    last_execution_id: str | None
    disabled: bool
    stopped_by: dict[str, str] | None
    error: str | None
    backfill: Backfill | None
    updated: datetime | None

    @classmethod
    def from_json(cls, data: Json) -> TriggerState:
        backfill = data.get("backfill")
        return cls(
            namespace=data["namespace"],
            flow_id=data["flowId"],
            trigger_id=data["triggerId"],
            type=data.get("type"),
            next=parse_time(data.get("next")),
            last=parse_time(data.get("last")),
            last_execution_id=data.get("lastExecutionId"),
            disabled=bool(data.get("disabled", False)),
            stopped_by=data.get("stoppedBy"),
            error=data.get("error"),
            backfill=Backfill.from_json(backfill) if backfill else None,
            updated=parse_time(data.get("updated")),
        )


class Triggers:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self, namespace: str | None = None) -> list[TriggerState]:
        """The states of the triggers of ``namespace`` and the namespaces below it (all when
        None)."""
        answer = self._t.request("GET", "/triggers", params={"namespace": namespace}).json()
        return [TriggerState.from_json(item) for item in answer]

    def get(self, namespace: str, flow_id: str, trigger_id: str) -> TriggerState:
        """A :class:`~controlplane.client.NotFound` until a scheduler evaluated the trigger or
        a backfill was asked for."""
        path = endpoint("triggers", namespace, flow_id, trigger_id)
        return TriggerState.from_json(self._t.request("GET", path).json())

    def backfill(
        self,
        namespace: str,
        flow_id: str,
        trigger_id: str,
        start: datetime,
        end: datetime | None = None,
        inputs: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> TriggerState:
        """Replay the slots of ``[start, end)`` (``end`` now when None) of a Schedule trigger;
        a time without an offset is read in the trigger's time zone."""
        body = {
            "start": start.isoformat(),
            "end": end.isoformat() if end is not None else None,
            "inputs": dict(inputs or {}),
            "labels": dict(labels or {}),
        }
        path = endpoint("triggers", namespace, flow_id, trigger_id, "backfill")
        return TriggerState.from_json(self._t.request("PUT", path, json=body).json())

    def cancel_backfill(self, namespace: str, flow_id: str, trigger_id: str) -> None:
        self._t.request("DELETE", endpoint("triggers", namespace, flow_id, trigger_id, "backfill"))
