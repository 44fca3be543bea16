"""Athena queries, Lambda invocations and EMR Serverless job runs with boto3, each client
configured from the task's connection properties as S3's is (``endpointOverride`` for a local
server such as moto).

Athena answers every cell as text; a cell is converted by its column's type as Kestra does
(booleans, whole numbers, floating point, decimals, dates and timestamps), anything else stays
text. Rows without data are left out. Lambda's answer is stored as it came, whatever its type.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, TaskKilled, runs
from controlplane.spec.plugins.aws_compute import (
    AthenaQuery,
    EmrStartServerlessJobRun,
    LambdaInvoke,
)
from controlplane.tasks import props
from controlplane.tasks.aws_s3 import aws_client
from controlplane.tasks.aws_services import _call
from controlplane.tasks.fetched import fetch_type
from controlplane.tasks.ion import to_ion

_POLL_SECONDS = 0.5

_STATISTICS = {
    "DataScannedInBytes": "data.scanned.bytes",
    "EngineExecutionTimeInMillis": "engine.execution.duration",
    "QueryPlanningTimeInMillis": "query.planning.duration",
    "QueryQueueTimeInMillis": "query.queue.duration",
    "ServiceProcessingTimeInMillis": "service.processing.duration",
    "TotalExecutionTimeInMillis": "total.execution.duration",
}

# -- Athena -------------------------------------------------------------------------------------


def _cell(kind: str, datum: Mapping[str, Any]) -> Any:
    text = datum.get("VarCharValue")
    if text is None:
        return None
    try:
        if kind == "boolean":
            return text.lower() == "true"
        if kind in ("tinyint", "smallint", "int", "integer", "bigint"):
            return int(text)
        if kind in ("double", "float"):
            return float(text)
        if kind == "decimal":
            return Decimal(text)
        if kind == "date":
            return date.fromisoformat(text)
        if kind == "timestamp":
            return datetime.fromisoformat(text)
    except (ValueError, InvalidOperation):
        return text
    return text


def _rows(
    columns: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]
) -> Iterator[dict[str, Any]]:
    for row in rows:
        data = row.get("Data")
        if not data:
            continue
        yield {
            str(column["Name"]): _cell(str(column.get("Type", "")).lower(), datum)
            for column, datum in zip(columns, data, strict=False)
        }


def _output(value: Any) -> Any:
    """A converted cell as a JSON output: decimals as numbers, dates as ISO-8601 text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _wait(athena: Any, ctx: RunContext, query_id: str) -> Mapping[str, Any]:
    """The statistics of the query once it has succeeded; TaskFailed when it failed."""
    while True:
        answer = _call(
            "athena:GetQueryExecution",
            lambda: athena.get_query_execution(QueryExecutionId=query_id),
        )
        execution = answer.get("QueryExecution") or {}
        status = execution.get("Status") or {}
        state = status.get("State")
        if state == "SUCCEEDED":
            return execution.get("Statistics") or {}
        if state == "FAILED":
            reason = status.get("StateChangeReason") or "no reason given"
            raise TaskFailed(f"Amazon Athena query failed to run with error message: {reason}")
        if state == "CANCELLED":
            raise TaskFailed("Amazon Athena query was cancelled")
        if ctx.cancelled.wait(_POLL_SECONDS):
            _call(
                "athena:StopQueryExecution",
                lambda: athena.stop_query_execution(QueryExecutionId=query_id),
            )
            raise TaskKilled(f"stopped while waiting for the Athena query {query_id}")


def _pages(athena: Any, query_id: str, first: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    page: Mapping[str, Any] = first
    yield page
    while token := page.get("NextToken"):
        page = _call(
            "athena:GetQueryResults",
            lambda: athena.get_query_results(QueryExecutionId=query_id, NextToken=token),
        )
        yield page


@runs(AthenaQuery)
def run_athena_query(task: AthenaQuery, ctx: RunContext) -> dict[str, Any]:
    context = {"Database": props.text(ctx, task.database)}
    catalog = props.optional_text(ctx, task.catalog)
    if catalog:
        context["Catalog"] = catalog
    request = {
        "QueryString": props.text(ctx, task.query),
        "QueryExecutionContext": context,
        "ResultConfiguration": {"OutputLocation": props.text(ctx, task.outputLocation)},
    }
    kind = fetch_type(ctx, task.fetchType)
    skip_header = props.boolean(ctx, task.skipHeader)
    athena = aws_client(task, ctx, "athena")
    started = _call("athena:StartQueryExecution", lambda: athena.start_query_execution(**request))
    query_id = str(started["QueryExecutionId"])
    ctx.info(f"Query created with Athena execution identifier {query_id}")
    if kind == "NONE":
        return {"queryExecutionId": query_id}
    statistics = _wait(athena, ctx, query_id)
    for field, metric in _STATISTICS.items():
        if statistics.get(field) is not None:
            ctx.metric(metric, statistics[field])
    first = _call(
        "athena:GetQueryResults", lambda: athena.get_query_results(QueryExecutionId=query_id)
    )
    columns = ((first.get("ResultSet") or {}).get("ResultSetMetadata") or {}).get("ColumnInfo")
    pages = [first] if kind == "FETCH_ONE" else _pages(athena, query_id, first)
    rows = _page_rows(columns or [], pages, skip_header)
    outputs = _fetched(ctx, kind, rows)
    ctx.metric("total.rows", outputs["size"])
    ctx.metric("fetch.rows", outputs["size"])
    return {"queryExecutionId": query_id, **outputs}


def _page_rows(
    columns: Sequence[Mapping[str, Any]], pages: Iterator[Mapping[str, Any]] | list[Any], skip: bool
) -> Iterator[dict[str, Any]]:
    """The rows of every page; Athena's header row (first of the first page) left out with
    ``skip``."""
    for index, page in enumerate(pages):
        rows = (page.get("ResultSet") or {}).get("Rows") or []
        yield from _rows(columns, rows[1:] if skip and index == 0 else rows)


def _fetched(ctx: RunContext, kind: str, rows: Iterator[dict[str, Any]]) -> dict[str, Any]:
    if kind == "STORE":
        size, lines = 0, []
        for row in rows:
            lines.append(to_ion(row) + "\n")
            size += 1
        if not size:
            return {"size": 0}
        return {"uri": ctx.put_file("query.ion", "".join(lines).encode()), "size": size}
    if kind == "FETCH_ONE":
        first = next(rows, None)
        one = None if first is None else {k: _output(v) for k, v in first.items()}
        return {"row": one, "size": 0 if one is None else 1}
    fetched = [{k: _output(v) for k, v in row.items()} for row in rows]
    return {"rows": fetched, "size": len(fetched)}


# -- Lambda -------------------------------------------------------------------------------------


def _content_type(header: str | None) -> str:
    """Kestra's reading of the answer's Content-Type: ``type/subtype`` with its charset when
    one was given, ``application/octet-stream`` when there is none or it does not parse."""
    if not header:
        return "application/octet-stream"
    mime, *parameters = (part.strip() for part in header.split(";"))
    kind, _, subtype = mime.partition("/")
    if not kind or not subtype:
        return "application/octet-stream"
    charset = next(
        (p.split("=", 1)[1].strip('"') for p in parameters if p.lower().startswith("charset=")),
        None,
    )
    return f"{mime.lower()}; charset={charset}" if charset else mime.lower()


@runs(LambdaInvoke)
def run_lambda_invoke(task: LambdaInvoke, ctx: RunContext) -> dict[str, Any]:
    started = time.monotonic()
    function = props.text(ctx, task.functionArn)
    payload = props.mapping(ctx, task.functionPayload, "functionPayload")
    request: dict[str, Any] = {"FunctionName": function, "LogType": "Tail"}
    if payload:
        request["Payload"] = json.dumps(payload).encode()
    client = aws_client(task, ctx, "lambda")
    answer = _call(f"lambda:Invoke of {function}", lambda: client.invoke(**request))
    headers = (answer.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    content_type = _content_type(headers.get("content-type"))
    body = answer["Payload"].read()
    _log_tail(ctx, answer.get("LogResult"))
    if answer.get("FunctionError"):
        detail = ""
        if content_type.startswith("application/json"):
            detail = ". Error: " + body.decode("utf-8", errors="replace")
        raise TaskFailed(
            f"Lambda Invoke task responded with error for function: {function}{detail}"
        )
    uri = ctx.put_file("response", body)
    ctx.metric("file.size", len(body))
    ctx.metric("duration", time.monotonic() - started, kind="timer")
    return {"uri": uri, "contentLength": len(body), "contentType": content_type}


def _log_tail(ctx: RunContext, encoded: str | None) -> None:
    """The last lines the function logged (Lambda's ``LogType: Tail``), each as a log line."""
    if not encoded:
        return
    text = base64.b64decode(encoded).decode("utf-8", errors="replace")
    for line in text.splitlines():
        if line.strip():
            ctx.info(f"[lambda] {line.strip()}")


# -- EMR Serverless -----------------------------------------------------------------------------


@runs(EmrStartServerlessJobRun)
def run_emr_start_serverless_job_run(
    task: EmrStartServerlessJobRun, ctx: RunContext
) -> dict[str, Any]:
    request = {
        "applicationId": props.text(ctx, task.applicationId),
        "executionRoleArn": props.text(ctx, task.executionRoleArn),
        "name": props.text(ctx, task.jobName),
        "jobDriver": {"sparkSubmit": {"entryPoint": props.text(ctx, task.entryPoint)}},
    }
    client = aws_client(task, ctx, "emr-serverless")
    started = _call("emr-serverless:StartJobRun", lambda: client.start_job_run(**request))
    ctx.info(f"Started EMR Serverless job: {started['jobRunId']}")
    return {"jobRunId": started["jobRunId"]}
