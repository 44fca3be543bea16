"""Hightouch's REST API (``https://api.hightouch.com/api/v1``).

``GET /syncs/{syncId}`` answers the sync (id, slug, workspaceId, destinationId, modelId, status,
...); ``POST /syncs/{syncId}/trigger`` with ``{"fullResync"}`` answers ``{"id": "<runId>"}`` (a
string); ``GET /syncs/{syncId}/runs?runId=...`` answers ``{"data": [run], "hasMore"}``, a run
being {id, createdAt, startedAt, finishedAt, status, error, plannedRows, successfulRows,
failedRows (each {addedCount, changedCount, removedCount}), querySize, completionRatio}. A run
goes queued, querying, processing, then success, warning, failed, cancelled or interrupted.
Errors are ``{"message"}`` (422 adds ``details``). Auth is a bearer API key.
"""

from __future__ import annotations

from typing import Any

from tests.doubles import Received, Reply, ServiceDouble, utc_now

_RUNNING = ("queued", "querying", "processing")


class HightouchDouble(ServiceDouble):
    def __init__(self, *, token: str = "ht-token", syncs: tuple[int, ...] = (42,)) -> None:
        super().__init__()
        self.outcomes = ["success"]
        self.token = token
        self.syncs = set(syncs)
        self.unlisted_reads = 0
        """Status reads that do not list a new run yet (the API lists it a little later)."""
        self.error = "Destination rejected 3 rows: invalid email"
        self.runs: dict[int, dict[str, Any]] = {}
        self.reads: dict[int, int] = {}
        self.run_outcomes: dict[int, str] = {}

    def handle(self, request: Received) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, {"message": "Invalid API key"})
        parts = request.path.strip("/").split("/")
        if parts[:3] != ["api", "v1", "syncs"] or len(parts) < 4:
            return Reply(404, {"message": f"Cannot {request.method} {request.path}"})
        sync_id = int(parts[3]) if parts[3].isdigit() else -1
        if sync_id not in self.syncs:
            return Reply(404, {"message": f"Sync {parts[3]} not found"})
        rest = parts[4:]
        if rest == [] and request.method == "GET":
            return Reply(200, _sync(sync_id))
        if rest == ["trigger"] and request.method == "POST":
            return self.take(self.trigger_faults) or self._trigger(sync_id, request.body or {})
        if rest == ["runs"] and request.method == "GET":
            return self.take(self.poll_faults) or self._runs(request.query)
        return Reply(404, {"message": f"Cannot {request.method} {request.path}"})

    def _trigger(self, sync_id: int, body: dict[str, Any]) -> Reply:
        if not isinstance(body.get("fullResync", False), bool):
            details = {"fullResync": {"message": "expected boolean"}}
            return Reply(422, {"message": "Validation Failed", "details": details})
        run_id = 7000 + len(self.runs)
        self.run_outcomes[run_id] = self.next_outcome()
        self.reads[run_id] = 0
        self.runs[run_id] = {
            "id": str(run_id),
            "syncId": sync_id,
            "fullResync": body.get("fullResync", False),
            "createdAt": utc_now(),
        }
        return Reply(200, {"id": str(run_id)})

    def _runs(self, query: dict[str, list[str]]) -> Reply:
        raw = (query.get("runId") or [""])[0]
        run_id = int(raw) if raw.isdigit() else -1
        if run_id not in self.runs:
            return Reply(200, {"data": [], "hasMore": False})
        self.reads[run_id] += 1
        reads = self.reads[run_id] - self.unlisted_reads
        if reads <= 0:
            return Reply(200, {"data": [], "hasMore": False})
        run = dict(self.runs[run_id], startedAt=self.runs[run_id]["createdAt"])
        rows = {"addedCount": 10, "changedCount": 2, "removedCount": 1}
        if self.never_finish or reads <= self.polls:
            run.update(status=_RUNNING[min(reads - 1, 2)], completionRatio=0)
            return Reply(200, {"data": [run], "hasMore": False})
        outcome = self.run_outcomes[run_id]
        failed = {"addedCount": 3, "changedCount": 0, "removedCount": 0}
        run.update(
            status=outcome,
            finishedAt=utc_now(),
            plannedRows=rows,
            successfulRows=rows,
            failedRows=failed if outcome != "success" else dict.fromkeys(rows, 0),
            querySize=13,
            completionRatio=1,
            error=self.error if outcome in ("failed", "warning") else None,
        )
        return Reply(200, {"data": [run], "hasMore": False})


def _sync(sync_id: int) -> dict[str, Any]:
    return {
        "id": str(sync_id),
        "slug": "crm-contacts",
        "workspaceId": "101",
        "destinationId": "202",
        "modelId": "303",
        "status": "success",
        "disabled": False,
        "primaryKey": "email",
        "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-02T00:00:00.000Z",
        "configuration": {},
        "schedule": None,
    }
