"""AWS Glue job runs with boto3: StartJobRun (waiting for the run to end unless ``wait`` is off)
and GetJobRun, the client configured from the task's connection properties as S3's is.

A run still STARTING, RUNNING or WAITING is going; one that ended other than SUCCEEDED
(FAILED, STOPPED, TIMEOUT, ERROR, EXPIRED) fails the task with Glue's error message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, TaskKilled, runs
from controlplane.spec.plugins.aws_compute import GlueGetJobRun, GlueStartJobRun
from controlplane.tasks import props
from controlplane.tasks.aws_s3 import aws_client
from controlplane.tasks.aws_services import _call

_GOING = frozenset({"STARTING", "RUNNING", "WAITING"})


def _time(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def _outputs(run: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "jobName": run.get("JobName"),
        "jobRunId": run.get("Id"),
        "state": run.get("JobRunState"),
        "startedOn": _time(run.get("StartedOn")),
        "completedOn": _time(run.get("CompletedOn")),
        "lastModifiedOn": _time(run.get("LastModifiedOn")),
        "executionTime": run.get("ExecutionTime"),
        "timeout": run.get("Timeout"),
        "attempt": run.get("Attempt"),
        "errorMessage": run.get("ErrorMessage"),
    }


def _read(glue: Any, job: str, run_id: str) -> Mapping[str, Any]:
    answer = _call("glue:GetJobRun", lambda: glue.get_job_run(JobName=job, RunId=run_id))
    return dict(answer.get("JobRun") or {})


@runs(GlueStartJobRun)
def run_glue_start_job_run(task: GlueStartJobRun, ctx: RunContext) -> dict[str, Any]:
    job = props.text(ctx, task.jobName)
    request: dict[str, Any] = {"JobName": job}
    arguments = props.mapping(ctx, task.arguments, "arguments")
    if arguments:
        request["Arguments"] = {
            k: v if isinstance(v, str) else str(v) for k, v in arguments.items()
        }
    if task.maxDuration is not None:
        limit = props.duration(ctx, task.maxDuration, "maxDuration")
        request["Timeout"] = max(1, math.ceil(limit.total_seconds() / 60))
    glue = aws_client(task, ctx, "glue")
    started = _call("glue:StartJobRun", lambda: glue.start_job_run(**request))
    run_id = str(started["JobRunId"])
    ctx.info(f"Started Glue job '{job}' with run ID: {run_id}")
    run = _read(glue, job, run_id)
    ctx.info(f"Initial job state: {run.get('JobRunState')}")
    if props.boolean(ctx, task.wait):
        every = props.duration(ctx, task.interval, "interval").total_seconds()
        while run.get("JobRunState") in _GOING:
            if ctx.cancelled.wait(every):
                raise TaskKilled(f"stopped while waiting for the Glue job run {run_id}")
            run = _read(glue, job, run_id)
            state, seconds = run.get("JobRunState"), run.get("ExecutionTime")
            ctx.info(f"Job state: {state}, Execution time: {seconds} seconds")
    state = run.get("JobRunState")
    if state != "SUCCEEDED" and state not in _GOING:
        error = run.get("ErrorMessage")
        raise TaskFailed(f"Job state: {state}" + (f", Error message: {error}" if error else ""))
    return _outputs(run)


@runs(GlueGetJobRun)
def run_glue_get_job_run(task: GlueGetJobRun, ctx: RunContext) -> dict[str, Any]:
    job = props.text(ctx, task.jobName)
    run_id = props.optional_text(ctx, task.runId)
    glue = aws_client(task, ctx, "glue")
    if not run_id:
        answer = _call("glue:GetJobRuns", lambda: glue.get_job_runs(JobName=job, MaxResults=10))
        runs_found = answer.get("JobRuns") or []
        if not runs_found:
            raise TaskFailed(f"No job runs found for job: {job}")
        dated = [r for r in runs_found if isinstance(r.get("StartedOn"), datetime)]
        latest = max(dated, key=lambda r: r["StartedOn"]) if dated else runs_found[0]
        run_id = str(latest["Id"])
        ctx.info(f"Using latest job run with ID: {run_id}")
    return _outputs(_read(glue, job, run_id))
