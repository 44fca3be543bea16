"""DynamoDB, EventBridge, Kinesis and SNS with boto3, each client configured from the task's
connection properties as S3's is (``endpointOverride`` for a local server such as moto)."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ValidationError

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.aws_services import (
    DynamoDbDeleteItem,
    DynamoDbGetItem,
    DynamoDbPutItem,
    DynamoDbQuery,
    DynamoDbScan,
    EventBridgePutEvents,
    EventEntry,
    KinesisPutRecords,
    KinesisRecord,
    SnsMessage,
    SnsPublish,
    _Fetching,
)
from controlplane.tasks import props
from controlplane.tasks.aws_s3 import aws_client
from controlplane.tasks.fetched import fetch_type, fetched
from controlplane.tasks.ion import to_ion
from controlplane.tasks.ion_text import read_values

M = TypeVar("M", bound=BaseModel)


def _call(action: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise TaskFailed(f"{action} failed: {error.get('Code')}: {error.get('Message')}") from None
    except BotoCoreError as exc:
        raise TaskFailed(f"{action} failed: {exc}") from None


# -- DynamoDB -----------------------------------------------------------------------------------


def _attribute(value: Any) -> dict[str, Any]:
    """A value as DynamoDB's attribute, as Kestra writes them: text, booleans, null, string
    sets for lists, maps; numbers as numbers."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float | Decimal):
        return {"N": str(value)}
    if isinstance(value, list):
        return {"SS": [str(v) for v in value]}
    if isinstance(value, Mapping):
        return {"M": {str(k): _attribute(v) for k, v in value.items()}}
    return {"S": str(value)}


def _attributes(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(k): _attribute(v) for k, v in values.items()}


def _value(attribute: Mapping[str, Any]) -> Any:
    (kind, value), *_ = attribute.items()
    if kind == "NULL":
        return None
    if kind == "N":
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind in ("SS", "BS"):
        return list(value)
    if kind == "NS":
        return [_value({"N": v}) for v in value]
    if kind == "L":
        return [_value(v) for v in value]
    if kind == "M":
        return _row(value)
    if kind == "B":
        return base64.b64encode(value).decode()
    return value


def _row(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _value(v) for k, v in item.items()}


@runs(DynamoDbPutItem)
def run_dynamodb_put_item(task: DynamoDbPutItem, ctx: RunContext) -> dict[str, Any]:
    if isinstance(task.item, str):
        rendered = ctx.render_typed(task.item)
        try:
            item = json.loads(rendered) if isinstance(rendered, str) else rendered
        except ValueError:
            raise TaskFailed("'item' is not a JSON object after rendering") from None
    else:
        item = ctx.render(task.item)
    if not isinstance(item, dict):
        raise TaskFailed("'item' must be a map of attribute names to values")
    table = props.text(ctx, task.tableName)
    dynamodb = aws_client(task, ctx, "dynamodb")
    _call("dynamodb:PutItem", lambda: dynamodb.put_item(TableName=table, Item=_attributes(item)))
    ctx.info(f"Put an item of {len(item)} attributes into {table}")
    return {}


@runs(DynamoDbGetItem)
def run_dynamodb_get_item(task: DynamoDbGetItem, ctx: RunContext) -> dict[str, Any]:
    key = _attributes(props.mapping(ctx, task.key, "key"))
    table = props.text(ctx, task.tableName)
    dynamodb = aws_client(task, ctx, "dynamodb")
    answer = _call("dynamodb:GetItem", lambda: dynamodb.get_item(TableName=table, Key=key))
    return {"row": _row(answer.get("Item") or {})}


@runs(DynamoDbDeleteItem)
def run_dynamodb_delete_item(task: DynamoDbDeleteItem, ctx: RunContext) -> dict[str, Any]:
    key = _attributes(props.mapping(ctx, task.key, "key"))
    table = props.text(ctx, task.tableName)
    dynamodb = aws_client(task, ctx, "dynamodb")
    _call("dynamodb:DeleteItem", lambda: dynamodb.delete_item(TableName=table, Key=key))
    return {}


def _fetch(task: _Fetching, ctx: RunContext, operation: str, request: dict[str, Any]) -> Any:
    kind = fetch_type(ctx, task.fetchType)
    request["TableName"] = props.text(ctx, task.tableName)
    if task.limit is not None:
        request["Limit"] = props.integer(ctx, task.limit, "limit")
    if task.filterExpression is not None:
        request["FilterExpression"] = props.text(ctx, task.filterExpression)
    values = props.mapping(ctx, task.expressionAttributeValues, "expressionAttributeValues")
    if task.filterExpression is not None and not values:
        raise TaskFailed("'expressionAttributeValues' must be given with 'filterExpression'")
    if values:
        request["ExpressionAttributeValues"] = _attributes(values)
    dynamodb = aws_client(task, ctx, "dynamodb")
    call = getattr(dynamodb, operation)
    answer = _call(f"dynamodb:{operation}", lambda: call(**request))
    rows = [_row(item) for item in answer.get("Items") or []]
    return fetched(ctx, kind, rows, f"{operation}.ion")


@runs(DynamoDbScan)
def run_dynamodb_scan(task: DynamoDbScan, ctx: RunContext) -> dict[str, Any]:
    return dict(_fetch(task, ctx, "scan", {}))


@runs(DynamoDbQuery)
def run_dynamodb_query(task: DynamoDbQuery, ctx: RunContext) -> dict[str, Any]:
    request = {"KeyConditionExpression": props.text(ctx, task.keyConditionExpression)}
    return dict(_fetch(task, ctx, "query", request))


# -- entries from a list or an Ion file ----------------------------------------------------------


def _items(ctx: RunContext, value: Any, model: type[M], name: str) -> list[M]:
    """A list property's entries, or those of the Ion (or JSON lines) file its text names."""
    if not isinstance(value, str):
        items = value if isinstance(value, list) else [value]
        return [item if isinstance(item, model) else model.model_validate(item) for item in items]
    uri = props.text(ctx, value).strip()
    if not uri.startswith("kestra://"):
        raise TaskFailed(f"'{name}' must be a list, or an internal storage URI (kestra://...)")
    with ctx.open_file(uri) as stream:
        text = stream.read().decode("utf-8")
    values = [
        v for value in read_values(text) for v in (value if isinstance(value, list) else [value])
    ]
    found: list[M] = []
    for index, raw in enumerate(values):
        try:
            found.append(model.model_validate(_lower_first(raw)))
        except ValidationError as exc:
            raise TaskFailed(f"'{name}' entry {index} of {uri}: {exc.errors()[0]['msg']}") from None
    return found


def _lower_first(raw: Any) -> Any:
    """Kestra reads AWS's own capitalised names too (``DetailType`` for ``detailType``)."""
    if not isinstance(raw, dict):
        return raw
    return {(k[:1].lower() + k[1:]) if isinstance(k, str) else k: v for k, v in raw.items()}


def _results_file(ctx: RunContext, name: str, rows: Iterator[dict[str, Any]]) -> str:
    return ctx.put_file(name, "".join(to_ion(row) + "\n" for row in rows).encode())


# -- EventBridge --------------------------------------------------------------------------------


def _detail(ctx: RunContext, detail: Any) -> str | None:
    if detail is None:
        return None
    if isinstance(detail, str):
        return props.text(ctx, detail)
    return json.dumps(ctx.render(detail))


@runs(EventBridgePutEvents)
def run_eventbridge_put_events(task: EventBridgePutEvents, ctx: RunContext) -> dict[str, Any]:
    entries = _items(ctx, task.entries, EventEntry, "entries")
    requests = []
    for entry in entries:
        request: dict[str, Any] = {
            "EventBusName": props.text(ctx, entry.eventBusName),
            "Source": props.text(ctx, entry.source),
            "DetailType": props.text(ctx, entry.detailType),
        }
        detail = _detail(ctx, entry.detail)
        if detail is not None:
            request["Detail"] = detail
        if entry.resources:
            request["Resources"] = [props.text(ctx, r) for r in entry.resources]
        requests.append(request)
    events = aws_client(task, ctx, "events")
    answer = _call("events:PutEvents", lambda: events.put_events(Entries=requests))
    failed = int(answer.get("FailedEntryCount") or 0)
    ctx.metric("eventbridge.put.events.total", len(requests))
    ctx.metric("eventbridge.put.events.failed", failed)
    if failed and props.boolean(ctx, task.failOnUnsuccessfulEvents):
        raise TaskFailed(f"{failed} of {len(requests)} events were not put")
    results = answer.get("Entries") or []
    rows = (
        {
            "entry": {
                "eventBusName": r["EventBusName"], "source": r["Source"],
                "detailType": r["DetailType"], "detail": r.get("Detail"),
                "resources": r.get("Resources"),
            },
            "eventId": result.get("EventId"), "errorCode": result.get("ErrorCode"),
            "errorMessage": result.get("ErrorMessage"),
        }
        for r, result in zip(requests, results, strict=False)
    )  # fmt: skip
    uri = _results_file(ctx, "events.ion", rows)
    if failed:
        ctx.warn()
    return {"uri": uri, "entryCount": len(requests), "failedEntryCount": failed}


# -- Kinesis ------------------------------------------------------------------------------------


@runs(KinesisPutRecords)
def run_kinesis_put_records(task: KinesisPutRecords, ctx: RunContext) -> dict[str, Any]:
    records = _items(ctx, task.records, KinesisRecord, "records")
    stream: dict[str, str] = {}
    arn = props.optional_text(ctx, task.streamArn)
    name = props.optional_text(ctx, task.streamName)
    if arn:
        stream["StreamARN"] = arn
    elif name:
        stream["StreamName"] = name
    else:
        raise TaskFailed("set 'streamName' or 'streamArn'")
    entries: list[dict[str, Any]] = []
    for record in records:
        entry: dict[str, Any] = {
            "Data": props.text(ctx, record.data).encode(),
            "PartitionKey": props.text(ctx, record.partitionKey),
        }
        if record.explicitHashKey:
            entry["ExplicitHashKey"] = props.text(ctx, record.explicitHashKey)
        entries.append(entry)
    kinesis = aws_client(task, ctx, "kinesis")
    answer = _call("kinesis:PutRecords", lambda: kinesis.put_records(Records=entries, **stream))
    failed = int(answer.get("FailedRecordCount") or 0)
    if failed and props.boolean(ctx, task.failOnUnsuccessfulRecords):
        raise TaskFailed(f"{failed} of {len(entries)} records were not put")
    ctx.metric("record.count", len(entries))
    ctx.metric("record.failed", failed)
    rows = (
        {
            "record": {
                "partitionKey": e["PartitionKey"], "data": e["Data"].decode(),
                "explicitHashKey": e.get("ExplicitHashKey"),
            },
            "sequenceNumber": result.get("SequenceNumber"), "shardId": result.get("ShardId"),
            "errorCode": result.get("ErrorCode"), "errorMessage": result.get("ErrorMessage"),
        }
        for e, result in zip(entries, answer.get("Records") or [], strict=False)
    )  # fmt: skip
    uri = _results_file(ctx, "records.ion", rows)
    if failed:
        ctx.warn()
    return {"uri": uri, "recordCount": len(entries), "failedRecordsCount": failed}


# -- SNS ----------------------------------------------------------------------------------------

_SNS_FIELDS = {
    "data": "Message", "subject": "Subject", "groupId": "MessageGroupId",
    "deduplicationId": "MessageDeduplicationId", "phoneNumber": "PhoneNumber",
    "structure": "MessageStructure",
}  # fmt: skip


@runs(SnsPublish)
def run_sns_publish(task: SnsPublish, ctx: RunContext) -> dict[str, Any]:
    messages = _items(ctx, task.from_, SnsMessage, "from")
    topic = props.text(ctx, task.topicArn)
    sns = aws_client(task, ctx, "sns")
    for message in messages:
        request = {"TopicArn": topic}
        for field, argument in _SNS_FIELDS.items():
            value = getattr(message, field)
            if value is not None:
                request[argument] = props.text(ctx, value)
        _call("sns:Publish", functools.partial(sns.publish, **request))
    ctx.metric("sns.publish.messages", len(messages), topic=topic)
    return {"messagesCount": len(messages)}
