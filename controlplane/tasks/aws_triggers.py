"""The AWS polling triggers: S3 objects and SQS messages (see
:mod:`controlplane.engine.polling` for when they are evaluated).

``s3.Trigger`` lists the bucket as ``s3.List`` does, keeps the files that are new or changed
since it last fired (``on``; see :mod:`controlplane.tasks.polled`), at most ``maxFiles``, and
downloads them to internal storage: ``trigger.objects`` holds each with its ``uri`` there and
its ``changeType``. Then, before the execution is created (as in Kestra, so that its tasks find
the objects moved), ``action: MOVE`` copies each object to ``moveTo`` and deletes it, ``DELETE``
deletes it; without an action the objects stay and fire again only when they change.

``sqs.Trigger`` receives the messages waiting in the queue, ten at a time, until ``maxRecords``
are read, ``maxDuration`` has passed or the queue answers none; it writes their bodies (JSON
parsed with ``serdeType: JSON``) to an Ion file, ``trigger.uri``, with ``trigger.count``, and
deletes them from the queue (``autoDelete``, the default); a message received but not deleted
(``autoDelete: false``, or a scheduler that died) is visible again after
``visibilityTimeout`` seconds.
"""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from controlplane.engine.pollcontext import poll_context
from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.aws import AwsConnection, S3Downloads, S3List
from controlplane.spec.plugins.polling import S3Trigger, SqsTrigger
from controlplane.tasks import props
from controlplane.tasks.aws_s3 import (
    _after_download,
    _download,
    _failing,
    aws_client,
    client,
    list_objects,
)
from controlplane.tasks.ion import to_ion
from controlplane.tasks.polled import ObjectMemory, as_task

_SQS_BATCH = 10
"""The most messages SQS answers or deletes in one call."""


@runs(S3Trigger)
def poll_s3(trigger: S3Trigger, ctx: RunContext) -> dict[str, Any] | None:
    poll = poll_context(ctx)
    listing = as_task(S3List, trigger)
    s3 = client(listing, ctx)
    bucket = props.text(ctx, trigger.bucket)
    objects = list_objects(listing, ctx, s3)
    memory = ObjectMemory(poll.memory, trigger.on, trigger.stateTtl)
    if len(objects) < props.integer(ctx, trigger.maxKeys, "maxKeys"):
        memory.keep_only({item["uri"] for item in objects})
    limit = props.integer(ctx, trigger.maxFiles, "maxFiles")
    fired: list[dict[str, Any]] = []
    for item in objects:
        if item["key"].endswith("/") or len(fired) >= limit:
            continue
        change = memory.change(item["uri"], str(item.get("eTag") or item["lastModified"]))
        if change is None:
            continue
        uri, _ = _download(ctx, s3, bucket, item["key"])
        fired.append({**item, "etag": item.get("eTag"), "uri": uri, "changeType": change})
    memory.trim()
    if not fired:
        return None
    if trigger.action in ("MOVE", "DELETE"):
        _s3_action(trigger, ctx, s3, bucket, fired, memory)
    ctx.info(f"{len(fired)} object(s) of s3://{bucket} fire the trigger")
    return {"objects": fired}


def _s3_action(
    trigger: S3Trigger,
    ctx: RunContext,
    s3: Any,
    bucket: str,
    fired: list[dict[str, Any]],
    memory: ObjectMemory,
) -> None:
    task = as_task(S3Downloads, trigger)
    if task.action == "MOVE" and task.moveTo is None:
        raise TaskFailed("action MOVE needs 'moveTo' with the target key (and bucket)")
    for item in fired:
        key = item["key"]
        try:
            _after_download(task, ctx, s3, bucket, key)
        except (ClientError, BotoCoreError) as exc:
            raise _failing(f"{task.action.title()} of s3://{bucket}/{key}", exc) from None
        memory.forget(f"s3://{bucket}/{key}")


@runs(SqsTrigger)
def poll_sqs(trigger: SqsTrigger, ctx: RunContext) -> dict[str, Any] | None:
    poll_context(ctx)
    if trigger.maxRecords is None and trigger.maxDuration is None:
        raise TaskFailed("'maxDuration' or 'maxRecords' must be set to bound each evaluation")
    sqs = aws_client(as_task(AwsConnection, trigger), ctx, "sqs")
    queue = props.text(ctx, trigger.queueUrl)
    messages = _receive(trigger, ctx, sqs, queue)
    if not messages:
        return None
    lines = [to_ion(_body(trigger, message)) for message in messages]
    uri = ctx.put_file("messages.ion", ("\n".join(lines) + "\n").encode("utf-8"))
    if props.boolean(ctx, trigger.autoDelete):
        _delete(sqs, queue, [message["ReceiptHandle"] for message in messages])
    ctx.info(f"{len(messages)} message(s) of {queue} fire the trigger")
    return {"uri": uri, "count": len(messages)}


def _receive(trigger: SqsTrigger, ctx: RunContext, sqs: Any, queue: str) -> list[dict[str, Any]]:
    most = (
        None if trigger.maxRecords is None else props.integer(ctx, trigger.maxRecords, "maxRecords")
    )
    visibility = props.integer(ctx, trigger.visibilityTimeout, "visibilityTimeout")
    ends = (
        None
        if trigger.maxDuration is None
        else time.monotonic() + trigger.maxDuration.total_seconds()
    )
    messages: list[dict[str, Any]] = []
    while most is None or len(messages) < most:
        wanted = _SQS_BATCH if most is None else min(_SQS_BATCH, most - len(messages))
        try:
            answer = sqs.receive_message(
                QueueUrl=queue, MaxNumberOfMessages=wanted, WaitTimeSeconds=1,
                VisibilityTimeout=visibility,
            )  # fmt: skip
        except (ClientError, BotoCoreError) as exc:
            raise _failing(f"Receiving from {queue}", exc) from None
        received = answer.get("Messages") or []
        messages += received
        if not received or (ends is not None and time.monotonic() >= ends):
            break
    return messages


def _body(trigger: SqsTrigger, message: dict[str, Any]) -> Any:
    body = message.get("Body", "")
    if trigger.serdeType != "JSON":
        return body
    try:
        return json.loads(body)
    except ValueError:
        raise TaskFailed(
            f"message {message.get('MessageId')} is not JSON (serdeType: JSON)"
        ) from None


def _delete(sqs: Any, queue: str, handles: list[str]) -> None:
    for start in range(0, len(handles), _SQS_BATCH):
        chunk = handles[start : start + _SQS_BATCH]
        entries = [{"Id": str(n), "ReceiptHandle": handle} for n, handle in enumerate(chunk)]
        try:
            answer = sqs.delete_message_batch(QueueUrl=queue, Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            raise _failing(f"Deleting messages of {queue}", exc) from None
        failed = answer.get("Failed") or []
        if failed:
            raise TaskFailed(f"{len(failed)} message(s) of {queue} could not be deleted: {failed}")
