"""Dagster's GraphQL API (``POST <webserver>/graphql`` with ``{"query", "variables"}``).

The ``launchRun`` mutation (``executionParams``: ``selector`` with ``repositoryLocationName``,
``repositoryName``, ``jobName``; ``runConfigData``; ``executionMetadata.tags``) answers a
``LaunchRunSuccess`` with the ``run`` (``runId``, ``status`` QUEUED), or an error type:
``PipelineNotFoundError`` for a job the location and repository do not have,
``RunConfigValidationInvalid`` (with ``errors``) when the run config misses what the job
requires. The ``runOrError(runId)`` query answers the ``Run`` (``status``, ``jobName``,
``startTime`` and ``endTime`` as epoch seconds) or ``RunNotFoundError``: STARTED from the
first read, then after ``polls`` reads the scripted outcome (SUCCESS, FAILURE, CANCELED). A
request without the bearer token gets 401; a query the double does not know, GraphQL
``errors``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.doubles import Received, Reply, ServiceDouble


class DagsterDouble(ServiceDouble):
    def __init__(self, *, token: str = "dagster-token") -> None:
        super().__init__()
        self.outcomes = ["SUCCESS"]
        self.token = token
        self.jobs: dict[tuple[str, str, str], list[str]] = {}
        """(location, repository, job) -> the ops whose config the job requires."""
        self.runs: dict[str, dict[str, Any]] = {}
        self.launches: list[dict[str, Any]] = []
        self._reads: dict[str, int] = {}
        self._outcome: dict[str, str] = {}

    def handle(self, request: Received) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, {"errors": [{"message": "Unauthorized: invalid token"}]})
        if request.method != "POST" or request.path != "/graphql":
            return Reply(404, b"Not Found")
        body = request.body or {}
        query, variables = str(body.get("query") or ""), body.get("variables") or {}
        if "launchRun(" in query:
            return self.take(self.trigger_faults) or Reply(200, self._launch(variables))
        if "runOrError(" in query:
            return self.take(self.poll_faults) or Reply(200, self._read(variables))
        return Reply(200, {"errors": [{"message": "Cannot query this field."}]})

    def _launch(self, variables: dict[str, Any]) -> dict[str, Any]:
        key = (variables.get("repositoryLocationName"), variables.get("repositoryName"),
               variables.get("jobName"))  # fmt: skip
        if key not in self.jobs:
            error = {"__typename": "PipelineNotFoundError", "pipelineName": key[2],
                     "message": f"Could not find Pipeline {key[0]}.{key[1]}.{key[2]}"}  # fmt: skip
            return {"data": {"launchRun": error}}
        ops = (variables.get("runConfigData") or {}).get("ops") or {}
        missing = [op for op in self.jobs[key] if op not in ops]
        if missing:
            errors = [{"message": f'Missing required config entry "{op}" at path root:ops.',
                       "reason": "MISSING_REQUIRED_FIELD"} for op in missing]  # fmt: skip
            invalid = {"__typename": "RunConfigValidationInvalid", "errors": errors}
            return {"data": {"launchRun": invalid}}
        run_id = str(uuid.uuid4())
        self.launches.append(variables)
        self.runs[run_id] = {"__typename": "Run", "runId": run_id, "status": "QUEUED",
                             "jobName": key[2], "startTime": None, "endTime": None}  # fmt: skip
        self._reads[run_id] = 0
        self._outcome[run_id] = self.next_outcome()
        run = {"runId": run_id, "status": "QUEUED"}
        return {"data": {"launchRun": {"__typename": "LaunchRunSuccess", "run": run}}}

    def _read(self, variables: dict[str, Any]) -> dict[str, Any]:
        run_id = str(variables.get("runId"))
        run = self.runs.get(run_id)
        if run is None:
            missing = {"__typename": "RunNotFoundError", "runId": run_id,
                       "message": f"Run {run_id} could not be found."}  # fmt: skip
            return {"data": {"runOrError": missing}}
        self._reads[run_id] += 1
        if run["status"] == "QUEUED":
            run.update(status="STARTED", startTime=time.time())
        if not self.never_finish and self._reads[run_id] > self.polls and run["endTime"] is None:
            run.update(status=self._outcome[run_id], endTime=time.time())
        return {"data": {"runOrError": dict(run)}}
