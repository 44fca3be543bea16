"""Airbyte syncs: a self-hosted instance's config API, and Airbyte Cloud's public API.

Self-hosted (``connections.Sync`` / ``CheckStatus``): ``POST /api/v1/connections/sync`` with the
connection id starts a job; ``POST /api/v1/jobs/get`` with the job id reads it back with its
attempts, whose log lines are copied into the task's logs as they arrive. A job ends
``succeeded``, ``failed`` or ``cancelled``; Airbyte retries a failed attempt by itself while the
job is ``incomplete``. Airbyte refuses a second sync of a connection that is syncing (409).

Cloud (``cloud.jobs.Sync`` / ``Reset``): ``POST /jobs`` with ``connectionId`` and ``jobType``,
then ``GET /jobs/{jobId}`` until ``succeeded``, ``failed``, ``cancelled`` or ``incomplete``.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.durations import parse_duration
from controlplane.spec.plugins.syncs import (
    AirbyteCheckStatus,
    AirbyteCloudReset,
    AirbyteCloudSync,
    AirbyteSync,
    _AirbyteCloudJob,
    _AirbyteConnection,
)
from controlplane.tasks import props
from controlplane.tasks.remote import (
    ApiError,
    RemoteApi,
    WaitTimedOut,
    optional,
    positive,
    required,
    timeouts,
)

_ENDED = frozenset({"succeeded", "failed", "cancelled"})
_CLOUD_ENDED = frozenset({"succeeded", "failed", "cancelled", "incomplete"})
_LEVEL = re.compile(r"\b(ERROR|WARN|WARNING|DEBUG|TRACE)\b")
_STREAM_METRICS = {
    "recordsCommitted": "records.committed",
    "recordsEmitted": "records.emitted",
    "bytesEmitted": "bytes.emitted",
    "stateMessagesEmitted": "state.emitted",
}


# -- self-hosted --------------------------------------------------------------------------------
@runs(AirbyteSync)
def run_sync(task: AirbyteSync, ctx: RunContext) -> dict[str, Any]:
    connection = required(ctx, task.connectionId, "connectionId")
    with _connect(task, ctx) as api:
        try:
            info = api.json("POST", "/api/v1/connections/sync", body={"connectionId": connection})
        except ApiError as exc:
            if not _already_running(exc):
                raise
            if props.boolean(ctx, task.failOnActiveSync):
                raise api.fail(
                    f"Airbyte refused to start a sync of connection {connection}: a sync is "
                    f"already running ({exc.detail}); set failOnActiveSync: false to succeed "
                    "instead"
                ) from None
            api.warning(f"A sync of connection {connection} is already running; none started")
            return {"jobId": None, "alreadyRunning": True}
        job_id = _job_id(api, info)
        api.info(f"Airbyte job {job_id} started for connection {connection} ({_status(info)})")
        outputs: dict[str, Any] = {"jobId": job_id, "alreadyRunning": False}
        if props.boolean(ctx, task.wait):
            _wait_for_job(task, ctx, api, job_id, outputs)
        return outputs


@runs(AirbyteCheckStatus)
def run_check_status(task: AirbyteCheckStatus, ctx: RunContext) -> dict[str, Any]:
    job_id = props.integer(ctx, task.jobId, "jobId")
    with _connect(task, ctx) as api:
        status = _wait_for_job(task, ctx, api, job_id, {})
    return {"finalJobStatus": status}


def _connect(task: _AirbyteConnection, ctx: RunContext) -> RemoteApi:
    url = required(ctx, task.url, "url")
    default = positive(ctx, task.httpTimeout, "httpTimeout").total_seconds()
    user, password = optional(ctx, task.username), optional(ctx, task.password)
    token = optional(ctx, task.token)
    basic = (user, password) if user and password else None
    api = RemoteApi(
        ctx,
        "Airbyte",
        url,
        auth=basic,
        headers={"Authorization": f"Bearer {token}"} if token and not basic else None,
        secrets=[token or ""],
        timeout=timeouts(ctx, task.options, default),
    )
    credentials = task.applicationCredentials
    if credentials is not None and basic is None:
        client_id = required(ctx, credentials.clientId, "applicationCredentials.clientId")
        secret = required(ctx, credentials.clientSecret, "applicationCredentials.clientSecret")
        _use_application_token(api, "/api/v1/applications/token", client_id, secret)
    return api


def _use_application_token(api: RemoteApi, url: str, client_id: str, secret: str) -> None:
    """Exchange application credentials for an access token that authenticates what follows."""
    api.add_secret(secret)
    body = {"client_id": client_id, "client_secret": secret, "grant-type": "client_credentials"}
    with contextlib.ExitStack() as on_error:
        on_error.push(api)  # closes the session if the exchange fails
        answer = api.json("POST", url, body=body, repeatable=True)
        access = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(access, str) or not access:
            raise api.fail(f"{api.service} gave no access_token for the client credentials")
        on_error.pop_all()
    api.add_secret(access)
    api.set_header("Authorization", f"Bearer {access}")


def _wait_for_job(
    task: _AirbyteConnection,
    ctx: RunContext,
    api: RemoteApi,
    job_id: int,
    outputs: dict[str, Any],
) -> str:
    """Poll the job until it ends, copying its logs; fail unless it succeeded."""
    every = positive(ctx, task.pollFrequency, "pollFrequency")
    limit = positive(ctx, task.maxDuration, "maxDuration")
    logs = _AttemptLogs(api)

    def check() -> dict[str, Any] | None:
        info = api.json("POST", "/api/v1/jobs/get", body={"id": job_id}, repeatable=True)
        if not isinstance(info, dict):
            return None
        logs.show(info)
        return info if _status(info) in _ENDED else None

    try:
        info = api.poll(check, every=every, limit=limit, what=f"Airbyte job {job_id}")
    except WaitTimedOut as exc:
        api.warning(f"Airbyte job {job_id} keeps running in Airbyte: it was not cancelled")
        exc.outputs.update(outputs)
        raise
    attempts = [item.get("attempt") or {} for item in info.get("attempts") or []]
    status = _status(info)
    if status != "succeeded":
        reasons = [_failure_text(attempt) for attempt in attempts]
        detail = "; ".join(reason for reason in reasons if reason)
        raise api.fail(
            f"Airbyte job {job_id} ended with status '{status}' after {len(attempts)} attempt(s)"
            + (f": {detail}" if detail else ""),
            outputs,
        )
    ctx.metric("attempts.count", len(attempts))
    for attempt in attempts:
        for stream in attempt.get("streamStats") or []:
            stats = stream.get("stats") or {}
            for key, name in _STREAM_METRICS.items():
                if isinstance(stats.get(key), int | float):
                    ctx.metric(name, stats[key], stream=str(stream.get("streamName", "")))
    api.info(f"Airbyte job {job_id} succeeded after {len(attempts)} attempt(s)")
    return status


class _AttemptLogs:
    """Copies the log lines of a job's attempts into the task's logs, each line once."""

    def __init__(self, api: RemoteApi) -> None:
        self.api = api
        self.shown: dict[int, int] = {}
        self.attempts = 1

    def show(self, info: dict[str, Any]) -> None:
        attempts = info.get("attempts") or []
        if len(attempts) > self.attempts:
            self.api.warning(
                f"Attempt {self.attempts} failed; Airbyte started attempt {len(attempts)}"
            )
            self.attempts = len(attempts)
        for index, attempt in enumerate(attempts):
            lines = _log_lines(attempt.get("logs") or {})
            for level, line in lines[self.shown.get(index, 0) :]:
                self._log(level, line)
            self.shown[index] = max(self.shown.get(index, 0), len(lines))

    def _log(self, level: str, line: str) -> None:
        if level == "ERROR":
            self.api.error(line)
        elif level in ("WARN", "WARNING"):
            self.api.warning(line)
        elif level in ("DEBUG", "TRACE"):
            self.api.debug(line)
        else:
            self.api.info(line)


def _log_lines(logs: dict[str, Any]) -> list[tuple[str, str]]:
    """(level, text) of an attempt's logs: plain ``logLines`` or structured ``events``."""
    events = logs.get("events")
    if isinstance(events, list) and events:
        return [
            (str(event.get("level", "INFO")).upper(), str(event.get("message", "")))
            for event in events
            if isinstance(event, dict)
        ]
    lines = [str(line) for line in logs.get("logLines") or []]
    return [(_line_level(line), line) for line in lines]


def _line_level(line: str) -> str:
    match = _LEVEL.search(line[:80])
    return match.group(1) if match else "INFO"


def _failure_text(attempt: dict[str, Any]) -> str:
    failures = (attempt.get("failureSummary") or {}).get("failures") or []
    texts = []
    for failure in failures:
        message = failure.get("externalMessage") or failure.get("internalMessage")
        if message:
            origin = failure.get("failureOrigin")
            texts.append(f"{origin}: {message}" if origin else str(message))
    return "; ".join(texts)


def _already_running(exc: ApiError) -> bool:
    return exc.status == 409 or "already running" in exc.detail.lower()


def _job_id(api: RemoteApi, info: Any) -> int:
    job = info.get("job") if isinstance(info, dict) else None
    job_id = job.get("id") if isinstance(job, dict) else None
    if not isinstance(job_id, int):
        raise api.fail("Airbyte answered the sync request without a job id")
    return job_id


def _status(info: dict[str, Any]) -> str:
    return str((info.get("job") or {}).get("status", "unknown"))


# -- cloud --------------------------------------------------------------------------------------
@runs(AirbyteCloudSync)
def run_cloud_sync(task: AirbyteCloudSync, ctx: RunContext) -> dict[str, Any]:
    return _run_cloud_job(task, ctx, "sync")


@runs(AirbyteCloudReset)
def run_cloud_reset(task: AirbyteCloudReset, ctx: RunContext) -> dict[str, Any]:
    return _run_cloud_job(task, ctx, "reset")


def _run_cloud_job(task: _AirbyteCloudJob, ctx: RunContext, job_type: str) -> dict[str, Any]:
    connection = required(ctx, task.connectionId, "connectionId")
    with _connect_cloud(task, ctx) as api:
        job = api.json("POST", "/jobs", body={"connectionId": connection, "jobType": job_type})
        if not isinstance(job, dict) or not isinstance(job.get("jobId"), int):
            raise api.fail("Airbyte Cloud answered the job request without a jobId")
        job_id = job["jobId"]
        api.info(f"Airbyte Cloud {job_type} job {job_id} created for connection {connection}")
        if not props.boolean(ctx, task.wait):
            return {"job": _job_output(job)}
        every = positive(ctx, task.pollFrequency, "pollFrequency")
        limit = positive(ctx, task.maxDuration, "maxDuration")
        seen = [str(job.get("status"))]

        def check() -> dict[str, Any] | None:
            current = api.json("GET", f"/jobs/{job_id}")
            status = str(current.get("status")) if isinstance(current, dict) else "unknown"
            if status != seen[-1]:
                api.info(f"Airbyte Cloud job {job_id} is {status}")
                seen.append(status)
            return current if isinstance(current, dict) and status in _CLOUD_ENDED else None

        try:
            ended = api.poll(check, every=every, limit=limit, what=f"Airbyte Cloud job {job_id}")
        except WaitTimedOut as exc:
            api.warning(f"Airbyte Cloud job {job_id} keeps running: it was not cancelled")
            exc.outputs["job"] = _job_output(job)
            raise
    output = _job_output(ended)
    for key, name in (("bytesSynced", "bytes_synced"), ("rowsSynced", "rows_synced")):
        if isinstance(ended.get(key), int | float):
            ctx.metric(name, ended[key])
    if output["duration"] is not None:
        ctx.metric("duration", parse_duration(output["duration"]).total_seconds(), "timer")
    if output["status"] != "succeeded":
        raise TaskFailed(
            f"Airbyte Cloud job {job_id} ended with status '{output['status']}'", {"job": output}
        )
    return {"job": output}


def _connect_cloud(task: _AirbyteCloudJob, ctx: RunContext) -> RemoteApi:
    url = required(ctx, task.url, "url")
    token = optional(ctx, task.token)
    client_id, client_secret = optional(ctx, task.clientId), optional(ctx, task.clientSecret)
    user, password = optional(ctx, task.username), optional(ctx, task.password)
    if token:
        return RemoteApi(
            ctx, "Airbyte Cloud", url, headers={"Authorization": f"Bearer {token}"}, secrets=[token]
        )
    if client_id and client_secret:
        api = RemoteApi(ctx, "Airbyte Cloud", url)
        token_url = required(ctx, task.tokenURL, "tokenURL")
        _use_application_token(api, token_url, client_id, client_secret)
        return api
    if user and password:
        return RemoteApi(ctx, "Airbyte Cloud", url, auth=(user, password))
    raise TaskFailed(
        "Airbyte Cloud needs credentials: set 'token', or 'clientId' and 'clientSecret', "
        "or 'username' and 'password'"
    )


def _job_output(job: dict[str, Any]) -> dict[str, Any]:
    duration = job.get("duration")
    try:
        valid = isinstance(duration, str) and parse_duration(duration) is not None
    except ValueError:
        valid = False
    return {
        "jobId": job.get("jobId"),
        "startTime": job.get("startTime"),
        "lastUpdatedAt": job.get("lastUpdatedAt"),
        "jobType": job.get("jobType"),
        "status": job.get("status"),
        "duration": duration if valid else None,
        "bytesSynced": job.get("bytesSynced"),
        "rowsSynced": job.get("rowsSynced"),
    }
