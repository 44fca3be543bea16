"""Dagster's GraphQL API: a job run launched, then followed.

The run is launched with the ``launchRun`` mutation Dagster documents (selector: code location,
repository, job; ``runConfigData``; ``executionMetadata.tags`` from ``body.tags``, which
Kestra's plugin leaves out), and read with ``runOrError`` until its status is ``SUCCESS``,
``FAILURE`` or ``CANCELED``. A launch answered with an error type (``PythonError``,
``RunConfigValidationInvalid``, ``PipelineNotFoundError``, ...) or GraphQL ``errors`` fails the
task with Dagster's messages; so does a run that ends ``FAILURE`` or ``CANCELED`` (Kestra's
plugin succeeds and reports the status). Times are given as ISO-8601 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from controlplane.engine.runnable import RunContext, runs
from controlplane.spec.plugins.dagster import DagsterTriggerRun
from controlplane.tasks import props
from controlplane.tasks.remote import RemoteApi, WaitTimedOut, positive, required

_ENDED = frozenset({"SUCCESS", "FAILURE", "CANCELED"})

LAUNCH = """
mutation LaunchRun($repositoryLocationName: String!, $repositoryName: String!,
                   $jobName: String!, $runConfigData: RunConfigData, $tags: [ExecutionTag!]) {
  launchRun(executionParams: {
    selector: {repositoryLocationName: $repositoryLocationName,
               repositoryName: $repositoryName, jobName: $jobName},
    runConfigData: $runConfigData,
    executionMetadata: {tags: $tags}
  }) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on RunConfigValidationInvalid { errors { message reason } }
    ... on Error { message }
  }
}
"""

STATUS = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId status jobName startTime endTime }
    ... on Error { message }
  }
}
"""


def _graphql(api: RemoteApi, query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
    answer = api.json("POST", "", body={"query": query, "variables": variables})
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if errors:
        messages = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
        raise api.fail(f"Dagster refused the GraphQL request: {messages}")
    data = (answer.get("data") or {}).get(field) if isinstance(answer, dict) else None
    if not isinstance(data, dict):
        raise api.fail(f"Dagster answered without '{field}'")
    return data


def _refusal(result: dict[str, Any]) -> str:
    details = [str(e.get("message")) for e in result.get("errors") or [] if isinstance(e, dict)]
    message = result.get("message")
    return "; ".join([*([str(message)] if message else []), *details]) or "no message"


def _time(value: Any) -> str | None:
    if not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, UTC).isoformat()


@runs(DagsterTriggerRun)
def run_trigger_run(task: DagsterTriggerRun, ctx: RunContext) -> dict[str, Any]:
    job = required(ctx, task.jobName, "jobName")
    body = props.mapping(ctx, task.body, "body")
    options = props.mapping(ctx, task.options, "options")
    headers = {str(k): str(v) for k, v in dict(options.get("headers") or {}).items()}
    secrets = [
        v for k, v in headers.items() if k.lower() in ("authorization", "dagster-cloud-api-token")
    ]
    variables = {
        "repositoryLocationName": required(ctx, task.location, "location"),
        "repositoryName": required(ctx, task.repository, "repository"),
        "jobName": job,
        "runConfigData": body.get("runConfig") or {},
        "tags": [{"key": str(k), "value": str(v)} for k, v in (body.get("tags") or {}).items()],
    }
    with RemoteApi(
        ctx, "Dagster", required(ctx, task.baseUrl, "baseUrl"), headers=headers, secrets=secrets
    ) as api:
        api.info(f"Launching Dagster job '{job}' of {variables['repositoryLocationName']}/"
                 f"{variables['repositoryName']}")  # fmt: skip
        launched = _graphql(api, LAUNCH, variables, "launchRun")
        if launched.get("__typename") != "LaunchRunSuccess":
            raise api.fail(f"Dagster did not launch job '{job}': {launched.get('__typename')}: "
                           f"{_refusal(launched)}")  # fmt: skip
        run = launched.get("run") or {}
        outputs: dict[str, Any] = {"runId": run.get("runId"), "status": run.get("status"),
                                   "jobName": job}  # fmt: skip
        api.info(f"Dagster run {outputs['runId']} launched, status {outputs['status']}")
        if not props.boolean(ctx, task.wait):
            return outputs

        def check() -> dict[str, Any] | None:
            found = _graphql(api, STATUS, {"runId": outputs["runId"]}, "runOrError")
            if found.get("__typename") != "Run":
                raise api.fail(f"Dagster run {outputs['runId']}: {found.get('__typename')}: "
                               f"{_refusal(found)}")  # fmt: skip
            return found if found.get("status") in _ENDED else None

        try:
            final = api.poll(
                check,
                every=positive(ctx, task.pollFrequency, "pollFrequency"),
                limit=positive(ctx, task.maxDuration, "maxDuration"),
                what=f"Dagster run {outputs['runId']}",
            )
        except WaitTimedOut as exc:
            exc.outputs.update(outputs)
            raise
    outputs.update(
        status=final["status"],
        startTime=_time(final.get("startTime")),
        endTime=_time(final.get("endTime")),
    )
    if final["status"] != "SUCCESS":
        raise api.fail(f"Dagster run {outputs['runId']} of job '{job}' ended {final['status']}",
                       outputs)  # fmt: skip
    return outputs
