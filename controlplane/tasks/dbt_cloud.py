"""dbt Cloud runs: ``TriggerRun`` starts a job run, ``CheckStatus`` waits for one.

``POST /api/v2/accounts/{account}/jobs/{job}/run/`` with a ``cause`` (and optional git and
override fields) starts a run; ``GET /api/v2/accounts/{account}/runs/{run}/`` with its
``run_steps`` reads it until its status is 10 (Success), 20 (Error) or 30 (Cancelled); 1, 2 and 3
are Queued, Starting and Running. Each step's log text grows while it runs: new complete lines are
copied into the task's logs once each. After a success, ``run_results.json`` and ``manifest.json``
are fetched from ``.../runs/{run}/artifacts/`` into internal storage (an artifact the run did not
produce, 404, is skipped). Every answer is ``{"status": {...}, "data": ...}``; an error's text is
``status.user_message``.
"""

from __future__ import annotations

import json
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.retrying import RetryPolicy
from controlplane.spec.plugins.syncs import DbtCloudCheckStatus, DbtCloudTriggerRun, _DbtCloud
from controlplane.tasks import props
from controlplane.tasks.dbt_results import report_run_results
from controlplane.tasks.remote import (
    ApiError,
    RemoteApi,
    WaitTimedOut,
    optional,
    positive,
    required,
    segment,
    timeouts,
)

SUCCESS, ERROR, CANCELLED = 10, 20, 30
_ENDED = frozenset({SUCCESS, ERROR, CANCELLED})
_HUMANIZED_ENDED = frozenset({"success", "error", "cancelled"})
_RELATED = '["trigger","job","run_steps","environment"]'
_ARTIFACTS = (("runResults", "run_results.json"), ("manifest", "manifest.json"))


@runs(DbtCloudTriggerRun)
def run_trigger(task: DbtCloudTriggerRun, ctx: RunContext) -> dict[str, Any]:
    account = required(ctx, task.accountId, "accountId")
    job = required(ctx, task.jobId, "jobId")
    body = _trigger_body(task, ctx)
    with _connect(task, ctx) as api:
        answer = api.json(
            "POST", f"/api/v2/accounts/{segment(account)}/jobs/{segment(job)}/run/", body=body
        )
        run = _data(api, answer)
        run_id = run.get("id")
        if not isinstance(run_id, int):
            raise api.fail("dbt Cloud answered the trigger without a run id")
        api.info(f"dbt Cloud run {run_id} of job {job} triggered: {run.get('status_humanized')}")
        outputs: dict[str, Any] = {"runId": run_id}
        if props.boolean(ctx, task.wait):
            outputs.update(_follow(task, ctx, api, account, run_id, outputs))
        return outputs


@runs(DbtCloudCheckStatus)
def run_check_status(task: DbtCloudCheckStatus, ctx: RunContext) -> dict[str, Any]:
    account = required(ctx, task.accountId, "accountId")
    run_id = props.integer(ctx, task.runId, "runId")
    with _connect(task, ctx) as api:
        return _follow(task, ctx, api, account, run_id, {})


def _trigger_body(task: DbtCloudTriggerRun, ctx: RunContext) -> dict[str, Any]:
    body: dict[str, Any] = {"cause": props.text(ctx, task.cause)}
    texts = {
        "git_sha": task.gitSha,
        "git_branch": task.gitBranch,
        "schema_override": task.schemaOverride,
        "dbt_version_override": task.dbtVersionOverride,
        "target_name_override": task.targetNameOverride,
    }
    for key, value in texts.items():
        rendered = optional(ctx, value)
        if rendered is not None:
            body[key] = rendered
    if task.threadsOverride is not None:
        body["threads_override"] = props.integer(ctx, task.threadsOverride, "threadsOverride")
    if task.generateDocsOverride is not None:
        body["generate_docs_override"] = props.boolean(ctx, task.generateDocsOverride)
    if task.timeoutSecondsOverride is not None:
        timeout = props.integer(ctx, task.timeoutSecondsOverride, "timeoutSecondsOverride")
        body["timeout_seconds_override"] = timeout
    steps = props.string_list(ctx, task.stepsOverride, "stepsOverride")
    if steps:
        body["steps_override"] = steps
    return body


def _connect(task: _DbtCloud, ctx: RunContext) -> RemoteApi:
    token = required(ctx, task.token, "token")
    attempts = props.integer(ctx, task.maxRetries, "maxRetries")
    delay_ms = props.integer(ctx, task.initialDelayMs, "initialDelayMs")
    if attempts < 1 or delay_ms < 1:
        raise TaskFailed(
            f"'maxRetries' and 'initialDelayMs' must be at least 1, got {attempts} and {delay_ms}"
        )
    return RemoteApi(
        ctx,
        "dbt Cloud",
        required(ctx, task.baseUrl, "baseUrl"),
        headers={"Authorization": f"Bearer {token}"},
        secrets=[token],
        timeout=timeouts(ctx, task.options, 30.0),
        retry=RetryPolicy(first_delay=delay_ms / 1000, max_delay=30.0, max_attempts=attempts),
        error_text=_error_text,
    )


def _follow(
    task: _DbtCloud,
    ctx: RunContext,
    api: RemoteApi,
    account: str,
    run_id: int,
    outputs: dict[str, Any],
) -> dict[str, Any]:
    """Wait for the run to end, copying its step logs; then store its artifacts."""
    every = positive(ctx, task.pollFrequency, "pollFrequency")
    limit = positive(ctx, task.maxDuration, "maxDuration")
    runs_path = f"/api/v2/accounts/{segment(account)}/runs/{run_id}"
    steps = _StepLogs(api)
    seen: list[str] = []

    def check() -> dict[str, Any] | None:
        answer = api.json("GET", f"{runs_path}/", params={"include_related": _RELATED})
        run = _data(api, answer)
        steps.show(run)
        humanized = str(run.get("status_humanized"))
        if not seen or seen[-1] != humanized:
            api.info(f"dbt Cloud run {run_id} is {humanized} after {run.get('duration_humanized')}")
            seen.append(humanized)
        return run if _ended(run) else None

    try:
        run = api.poll(check, every=every, limit=limit, what=f"dbt Cloud run {run_id}")
    except WaitTimedOut as exc:
        api.warning(f"dbt Cloud run {run_id} keeps running in dbt Cloud: it was not cancelled")
        exc.outputs.update(outputs)
        raise
    steps.finish()
    if not _succeeded(run):
        message = run.get("status_message")
        raise api.fail(
            f"dbt Cloud run {run_id} ended with status '{run.get('status_humanized')}' after "
            f"{run.get('duration_humanized')}" + (f": {message}" if message else ""),
            outputs,
        )
    stored: dict[str, Any] = {}
    for output, name in _ARTIFACTS:
        content = _artifact(api, f"{runs_path}/artifacts/{name}")
        stored[output] = None if content is None else ctx.put_file(name, content)
        parse = name == "run_results.json" and props.boolean(ctx, task.parseRunResults)
        if parse and content is not None:
            _report(ctx, api, content)
    return stored


class _StepLogs:
    """Copies the growing log text of each run step into the task's logs, each line once."""

    def __init__(self, api: RemoteApi) -> None:
        self.api = api
        self.offsets: dict[Any, int] = {}
        self.pending: dict[Any, tuple[str, str]] = {}

    def show(self, run: dict[str, Any]) -> None:
        for step in run.get("run_steps") or []:
            if not isinstance(step, dict) or not isinstance(step.get("logs"), str):
                continue
            key = step.get("id", step.get("index"))
            logs, name = step["logs"], str(step.get("name"))
            start = self.offsets.get(key, 0)
            if len(logs) < start:  # the text was replaced, not extended: start over
                start = 0
            complete = logs.rfind("\n", start) + 1
            for line in logs[start:complete].splitlines():
                self.api.info(f"[Step {name}]: {line}")
            self.offsets[key] = max(start, complete)
            rest = logs[self.offsets[key] :]
            if rest:
                self.pending[key] = (name, rest)
            else:
                self.pending.pop(key, None)

    def finish(self) -> None:
        """Log the last line of each step, which may have no newline."""
        for name, rest in self.pending.values():
            self.api.info(f"[Step {name}]: {rest}")
        self.pending.clear()


def _artifact(api: RemoteApi, path: str) -> bytes | None:
    try:
        return api.send("GET", path).content
    except ApiError as exc:
        if exc.status != 404:
            raise
        api.debug(f"Artifact {path.rsplit('/', 1)[-1]} not found: skipped")
        return None


def _report(ctx: RunContext, api: RemoteApi, content: bytes) -> None:
    """One log line per node of run_results.json, and its rows/bytes as metrics."""
    try:
        results = json.loads(content)
    except ValueError:
        results = None
    if not isinstance(results, dict):
        api.warning("run_results.json is not a dbt run result: not parsed")
        return
    report_run_results(ctx, results)


def _data(api: RemoteApi, answer: Any) -> dict[str, Any]:
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, dict):
        raise api.fail("dbt Cloud answered without the run's data")
    return data


def _ended(run: dict[str, Any]) -> bool:
    if isinstance(run.get("status"), int):
        return run["status"] in _ENDED
    if isinstance(run.get("is_complete"), bool):
        return bool(run["is_complete"])
    return str(run.get("status_humanized")).lower() in _HUMANIZED_ENDED


def _succeeded(run: dict[str, Any]) -> bool:
    if isinstance(run.get("status"), int):
        return bool(run["status"] == SUCCESS)
    if isinstance(run.get("is_success"), bool):
        return bool(run["is_success"]) and not run.get("is_error")
    return str(run.get("status_humanized")).lower() == "success"


def _error_text(body: Any) -> str | None:
    """``status.user_message`` (and ``developer_message``) of a dbt Cloud error body."""
    status = body.get("status") if isinstance(body, dict) else None
    if not isinstance(status, dict):
        return None
    texts = [status.get("user_message"), status.get("developer_message")]
    found = [str(text).strip() for text in texts if text and str(text).strip()]
    return " ".join(found) or None
