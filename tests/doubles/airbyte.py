"""Airbyte: a self-hosted instance's config API, and Airbyte Cloud's public API.

Self-hosted: ``POST /api/v1/connections/sync`` ``{"connectionId"}`` answers a JobInfoRead
(``{"job": {id, configType, configId, createdAt, updatedAt, status}, "attempts": [...]}``);
``POST /api/v1/jobs/get`` ``{"id"}`` answers the same shape, each attempt with its
``attempt`` (status, stats, ``failureSummary``) and ``logs.logLines``. Job statuses: pending,
running, incomplete, failed, succeeded, cancelled. Errors are ``{"message",
"exceptionClassName"}``: 404 for an unknown connection or job, 409 when the connection is
already syncing. Auth: HTTP basic, a bearer token, or an application token from
``POST /api/v1/applications/token``.

Cloud: ``POST /v1/jobs`` ``{"connectionId", "jobType"}`` and ``GET /v1/jobs/{jobId}`` answer a
JobResponse (jobId, status, jobType, startTime, connectionId, lastUpdatedAt, duration,
bytesSynced, rowsSynced); errors are problem details ``{"type", "title", "status", "detail"}``.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Any

from tests.doubles import Received, Reply, ServiceDouble, utc_now


@dataclass
class _Job:
    id: int
    connection: str
    outcome: str
    reads: int = 0
    created: int = field(default_factory=lambda: int(time.time()))


class AirbyteDouble(ServiceDouble):
    """A self-hosted Airbyte; one attempt log line shows per status read."""

    def __init__(
        self,
        *,
        username: str | None = "airbyte",
        password: str | None = "password",
        token: str | None = None,
        connections: tuple[str, ...] = ("conn-1",),
        clients: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.outcomes = ["succeeded"]
        self.username, self.password, self.token = username, password, token
        self.connections = set(connections)
        self.clients = dict(clients or {})
        self.issued: set[str] = set()
        self.busy: set[str] = set()
        """Connections syncing from elsewhere (the UI, a schedule): a new sync is refused."""
        self.log_lines = [
            "2024-05-01 10:00:00 INFO i.a.w.g.DefaultReplicationWorker(run):120 - starting",
            "2024-05-01 10:00:01 WARN i.a.w.g.DefaultReplicationWorker(run):130 - slow source",
            "2024-05-01 10:00:02 INFO i.a.w.g.DefaultReplicationWorker(run):140 - 42 records",
        ]
        self.failure = "Something went wrong in the connector. See the logs for more details."
        self.jobs: dict[int, _Job] = {}

    def handle(self, request: Received) -> Reply:
        if request.path == "/api/v1/applications/token" and request.method == "POST":
            return self._issue(request.body or {})
        if not self._authorized(request.headers.get("authorization", "")):
            return Reply(401, {"message": "Unauthorized", "exceptionClassName": "Unauthorized"})
        path = request.path.rstrip("/")
        if path == "/api/v1/connections/sync" and request.method == "POST":
            return self.take(self.trigger_faults) or self._sync(request.body or {})
        if path == "/api/v1/jobs/get" and request.method == "POST":
            return self.take(self.poll_faults) or self._get(request.body or {})
        return _error(404, f"No route for {request.method} {request.path}")

    def _authorized(self, header: str) -> bool:
        if self.username is not None and self.password is not None:
            pair = f"{self.username}:{self.password}".encode()
            if header == "Basic " + base64.b64encode(pair).decode():
                return True
        bearer = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        return bearer is not None and (bearer == self.token or bearer in self.issued)

    def _issue(self, body: dict[str, Any]) -> Reply:
        if self.clients.get(str(body.get("client_id"))) != body.get("client_secret"):
            return _error(401, "Invalid client credentials")
        token = f"app-token-{len(self.issued) + 1}"
        self.issued.add(token)
        return Reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": 180})

    def _sync(self, body: dict[str, Any]) -> Reply:
        connection = str(body.get("connectionId"))
        if connection not in self.connections:
            return _error(
                404,
                f"Could not find configuration for STANDARD_SYNC: {connection}.",
                "io.airbyte.config.persistence.ConfigNotFoundException",
            )
        if connection in self.busy:
            return _error(
                409,
                f"A sync is already running for: {connection}",
                "io.airbyte.commons.server.errors.ValueConflictKnownException",
            )
        job = _Job(len(self.jobs) + 1, connection, self.next_outcome())
        self.jobs[job.id] = job
        return Reply(200, {"job": self._job(job, "pending"), "attempts": []})

    def _get(self, body: dict[str, Any]) -> Reply:
        job_id = body.get("id")
        job = self.jobs.get(job_id) if isinstance(job_id, int) else None
        if job is None:
            return _error(404, f"Could not find job with id: {body.get('id')}")
        job.reads += 1
        running = self.never_finish or job.reads <= self.polls
        status = "running" if running else job.outcome
        shown = self.log_lines[: job.reads] if running else self.log_lines
        attempt: dict[str, Any] = {
            "id": 0,
            "status": "running"
            if running
            else ("succeeded" if status == "succeeded" else "failed"),
            "createdAt": job.created,
            "updatedAt": int(time.time()),
            "bytesSynced": 2048,
            "recordsSynced": 42,
            "totalStats": {"recordsEmitted": 42, "bytesEmitted": 2048, "recordsCommitted": 42},
            "streamStats": [
                {
                    "streamName": "users",
                    "stats": {
                        "recordsEmitted": 42,
                        "bytesEmitted": 2048,
                        "stateMessagesEmitted": 1,
                        "recordsCommitted": 42,
                    },
                }
            ],
        }
        if status == "failed":
            attempt["failureSummary"] = {
                "failures": [
                    {
                        "failureOrigin": "source",
                        "failureType": "system_error",
                        "externalMessage": self.failure,
                        "internalMessage": "java.lang.RuntimeException: boom",
                        "timestamp": int(time.time() * 1000),
                    }
                ],
                "partialSuccess": False,
            }
        return Reply(
            200,
            {
                "job": self._job(job, status),
                "attempts": [{"attempt": attempt, "logs": {"logLines": list(shown)}}],
            },
        )

    @staticmethod
    def _job(job: _Job, status: str) -> dict[str, Any]:
        return {
            "id": job.id,
            "configType": "sync",
            "configId": job.connection,
            "createdAt": job.created,
            "updatedAt": int(time.time()),
            "status": status,
        }


def _error(status: int, message: str, kind: str = "KnownException") -> Reply:
    return Reply(status, {"message": message, "exceptionClassName": kind})


class AirbyteCloudDouble(ServiceDouble):
    """Airbyte Cloud's public API under ``/v1``; ``url`` is the API base (``.../v1``)."""

    def __init__(
        self,
        *,
        token: str = "cloud-token",
        connections: tuple[str, ...] = ("conn-1",),
        clients: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.outcomes = ["succeeded"]
        self.token = token
        self.connections = set(connections)
        self.clients = dict(clients or {})
        self.issued: set[str] = set()
        self.jobs: dict[int, dict[str, Any]] = {}
        self.reads: dict[int, int] = {}
        self.job_outcomes: dict[int, str] = {}

    @property
    def api(self) -> str:
        return f"{self.url}/v1"

    def handle(self, request: Received) -> Reply:
        if request.path == "/v1/applications/token" and request.method == "POST":
            body = request.body or {}
            if self.clients.get(str(body.get("client_id"))) != body.get("client_secret"):
                return _problem(401, "unauthorized", "Invalid client id or secret.")
            token = f"cloud-app-{len(self.issued) + 1}"
            self.issued.add(token)
            return Reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": 180})
        header = request.headers.get("authorization", "")
        bearer = header.removeprefix("Bearer ")
        if not header.startswith("Bearer ") or (bearer != self.token and bearer not in self.issued):
            return _problem(401, "unauthorized", "The request is missing a valid bearer token.")
        if request.path == "/v1/jobs" and request.method == "POST":
            return self.take(self.trigger_faults) or self._create(request.body or {})
        if request.path.startswith("/v1/jobs/") and request.method == "GET":
            return self.take(self.poll_faults) or self._read(request.path.rsplit("/", 1)[-1])
        return _problem(404, "not-found", f"No route for {request.method} {request.path}")

    def _create(self, body: dict[str, Any]) -> Reply:
        connection = str(body.get("connectionId"))
        if connection not in self.connections:
            return _problem(404, "resource-not-found", f"Connection {connection} not found.")
        if body.get("jobType") not in ("sync", "reset", "refresh", "clear"):
            return _problem(422, "unprocessable-entity", f"Bad jobType {body.get('jobType')!r}")
        job_id = 1000 + len(self.jobs)
        self.job_outcomes[job_id] = self.next_outcome()
        self.reads[job_id] = 0
        self.jobs[job_id] = {
            "jobId": job_id,
            "status": "pending",
            "jobType": body["jobType"],
            "startTime": utc_now(),
            "connectionId": connection,
        }
        return Reply(200, self.jobs[job_id])

    def _read(self, raw: str) -> Reply:
        job_id = int(raw) if raw.isdigit() else -1
        if job_id not in self.jobs:
            return _problem(404, "resource-not-found", f"Job {raw} not found.")
        self.reads[job_id] += 1
        job = dict(self.jobs[job_id], lastUpdatedAt=utc_now())
        if self.never_finish or self.reads[job_id] <= self.polls:
            job["status"] = "running"
            return Reply(200, job)
        job.update(
            status=self.job_outcomes[job_id], duration="PT1M30S", bytesSynced=4096, rowsSynced=7
        )
        return Reply(200, job)


def _problem(status: int, kind: str, detail: str) -> Reply:
    return Reply(
        status,
        {
            "type": f"https://reference.airbyte.com/reference/errors#{kind}",
            "title": kind,
            "status": status,
            "detail": detail,
        },
    )
