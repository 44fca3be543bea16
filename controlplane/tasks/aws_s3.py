"""Amazon S3 with boto3: Upload, Download, Downloads, List, Delete, DeleteList, Copy and
CreateBucket, between buckets and internal storage. ``endpointOverride`` points them at any
S3-compatible server (MinIO, moto); credentials come from the task or boto3's usual chain."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.aws import (
    AwsConnection,
    S3Copy,
    S3CreateBucket,
    S3Delete,
    S3DeleteList,
    S3Download,
    S3Downloads,
    S3List,
    S3Upload,
    _Listing,
)
from controlplane.tasks import props

_UPLOAD_ARGS = {
    "acl": "ACL", "cacheControl": "CacheControl", "contentType": "ContentType",
    "contentEncoding": "ContentEncoding", "contentDisposition": "ContentDisposition",
    "contentLanguage": "ContentLanguage", "storageClass": "StorageClass",
    "serverSideEncryption": "ServerSideEncryption", "sseKmsKeyId": "SSEKMSKeyId",
    "requestPayer": "RequestPayer", "expectedBucketOwner": "ExpectedBucketOwner",
}  # fmt: skip


def aws_client(task: AwsConnection, ctx: RunContext, service: str, **config: Any) -> Any:
    """A boto3 client of ``service`` configured by the task's connection properties."""
    session = boto3.session.Session(
        aws_access_key_id=props.optional_text(ctx, task.accessKeyId),
        aws_secret_access_key=props.optional_text(ctx, task.secretKeyId),
        aws_session_token=props.optional_text(ctx, task.sessionToken),
        region_name=props.optional_text(ctx, task.region),
    )
    endpoint = props.optional_text(ctx, task.endpointOverride)
    settings = Config(retries={"max_attempts": 3}, **config)
    return session.client(service, endpoint_url=endpoint, config=settings)


def client(task: AwsConnection, ctx: RunContext) -> Any:
    """A boto3 S3 client configured by the task's connection properties."""
    path_style = task.forcePathStyle is not None and props.boolean(ctx, task.forcePathStyle)
    style = "path" if path_style or task.compatibilityMode else "auto"
    return aws_client(task, ctx, "s3", s3={"addressing_style": style})


def _failing(action: str, exc: Exception) -> TaskFailed:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return TaskFailed(f"{action} failed: {error.get('Code')}: {error.get('Message')}")
    return TaskFailed(f"{action} failed: {exc}")


@runs(S3Upload)
def run_upload(task: S3Upload, ctx: RunContext) -> dict[str, Any]:
    s3 = client(task, ctx)
    bucket, key = props.text(ctx, task.bucket), props.text(ctx, task.key)
    sources = task.from_ if isinstance(task.from_, list) else [task.from_]
    uris = [props.text(ctx, uri) for uri in sources]
    extra: dict[str, Any] = {
        arg: props.text(ctx, getattr(task, name))
        for name, arg in _UPLOAD_ARGS.items()
        if getattr(task, name) is not None
    }
    if task.metadata:
        extra["Metadata"] = {k: props.text(ctx, v) for k, v in task.metadata.items()}
    if task.tagging:
        extra["Tagging"] = "&".join(f"{k}={props.text(ctx, v)}" for k, v in task.tagging.items())
    answers = []
    for uri in uris:
        target = key if len(uris) == 1 else f"{key.rstrip('/')}/{PurePosixPath(uri).name}"
        with ctx.open_file(uri) as stream:
            try:
                answers.append(
                    s3.put_object(Bucket=bucket, Key=target, Body=stream.read(), **extra)
                )
            except (ClientError, BotoCoreError) as exc:
                raise _failing(f"Upload to s3://{bucket}/{target}", exc) from None
        ctx.info(f"Uploaded {uri} to s3://{bucket}/{target}")
    return {
        "bucket": bucket,
        "key": key,
        "eTag": answers[-1].get("ETag"),
        "versionId": answers[-1].get("VersionId"),
    }


def _download(ctx: RunContext, s3: Any, bucket: str, key: str, **extra: Any) -> tuple[str, Any]:
    try:
        answer = s3.get_object(Bucket=bucket, Key=key, **extra)
    except (ClientError, BotoCoreError) as exc:
        raise _failing(f"Download of s3://{bucket}/{key}", exc) from None
    with tempfile.TemporaryDirectory(prefix="weir-s3-") as folder:
        local = Path(folder) / "object"
        with local.open("wb") as out:
            for chunk in answer["Body"].iter_chunks(1 << 20):
                out.write(chunk)
        uri = ctx.put_file(PurePosixPath(key).name or "object", local)
    return uri, answer


@runs(S3Download)
def run_download(task: S3Download, ctx: RunContext) -> dict[str, Any]:
    s3 = client(task, ctx)
    bucket, key = props.text(ctx, task.bucket), props.text(ctx, task.key)
    extra = {"VersionId": props.text(ctx, task.versionId)} if task.versionId else {}
    uri, answer = _download(ctx, s3, bucket, key, **extra)
    return {
        "uri": uri,
        "contentLength": answer.get("ContentLength"),
        "contentType": answer.get("ContentType"),
        "metadata": answer.get("Metadata") or {},
        "versionId": answer.get("VersionId"),
    }


def list_objects(task: _Listing, ctx: RunContext, s3: Any) -> list[dict[str, Any]]:
    """The objects of the listing, filtered by ``regexp`` and ``filter``, as Kestra shows them."""
    bucket = props.text(ctx, task.bucket)
    arguments: dict[str, Any] = {"Bucket": bucket}
    for name, arg in (("prefix", "Prefix"), ("delimiter", "Delimiter"), ("marker", "StartAfter")):
        value = props.optional_text(ctx, getattr(task, name))
        if value:
            arguments[arg] = value
    limit = props.integer(ctx, task.maxKeys, "maxKeys")
    pattern = props.optional_text(ctx, task.regexp)
    objects: list[dict[str, Any]] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(**arguments):
            for item in page.get("Contents", []):
                key = item["Key"]
                is_dir = key.endswith("/")
                if (task.filter == "FILES" and is_dir) or (
                    task.filter == "DIRECTORY" and not is_dir
                ):
                    continue
                if pattern and not re.fullmatch(pattern, key):
                    continue
                objects.append(_object(bucket, item))
                if len(objects) >= limit:
                    return objects
    except (ClientError, BotoCoreError) as exc:
        raise _failing(f"Listing of s3://{bucket}", exc) from None
    return objects


def _object(bucket: str, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": item["Key"],
        "lastModified": item["LastModified"].isoformat(),
        "eTag": item.get("ETag"),
        "size": item.get("Size"),
        "storageClass": item.get("StorageClass"),
        "uri": f"s3://{bucket}/{item['Key']}",
    }


@runs(S3List)
def run_list(task: S3List, ctx: RunContext) -> dict[str, Any]:
    objects = list_objects(task, ctx, client(task, ctx))
    return {"objects": objects}


@runs(S3Downloads)
def run_downloads(task: S3Downloads, ctx: RunContext) -> dict[str, Any]:
    s3 = client(task, ctx)
    bucket = props.text(ctx, task.bucket)
    objects = list_objects(task, ctx, s3)
    files: dict[str, str] = {}
    for item in objects:
        if item["key"].endswith("/"):
            continue
        uri, _ = _download(ctx, s3, bucket, item["key"])
        files[item["key"]] = uri
        item["uri"] = uri
        _after_download(task, ctx, s3, bucket, item["key"])
    return {"objects": objects, "outputFiles": files}


def _after_download(task: S3Downloads, ctx: RunContext, s3: Any, bucket: str, key: str) -> None:
    if task.action == "NONE":
        return
    if task.action == "MOVE":
        if task.moveTo is None:
            raise TaskFailed("action MOVE needs 'moveTo' with the target key (and bucket)")
        target_bucket = props.optional_text(ctx, task.moveTo.bucket) or bucket
        prefix = props.text(ctx, task.moveTo.key).rstrip("/")
        target = f"{prefix}/{PurePosixPath(key).name}"
        s3.copy_object(Bucket=target_bucket, Key=target, CopySource={"Bucket": bucket, "Key": key})
    s3.delete_object(Bucket=bucket, Key=key)


@runs(S3Delete)
def run_delete(task: S3Delete, ctx: RunContext) -> dict[str, Any]:
    s3 = client(task, ctx)
    bucket, key = props.text(ctx, task.bucket), props.text(ctx, task.key)
    try:
        answer = s3.delete_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:
        raise _failing(f"Delete of s3://{bucket}/{key}", exc) from None
    return {"deleteMarker": answer.get("DeleteMarker"), "versionId": answer.get("VersionId")}


@runs(S3DeleteList)
def run_delete_list(task: S3DeleteList, ctx: RunContext) -> dict[str, Any]:
    s3 = client(task, ctx)
    bucket = props.text(ctx, task.bucket)
    objects = list_objects(task, ctx, s3)
    if not objects and props.boolean(ctx, task.errorOnEmpty):
        raise TaskFailed(f"no object of s3://{bucket} matches, and errorOnEmpty is set")
    for item in objects:
        s3.delete_object(Bucket=bucket, Key=item["key"])
    return {"count": len(objects), "size": sum(item["size"] or 0 for item in objects)}


@runs(S3Copy)
def run_copy(task: S3Copy, ctx: RunContext) -> dict[str, Any]:
    s3 = client(task, ctx)
    source = {"Bucket": props.text(ctx, task.from_.bucket), "Key": props.text(ctx, task.from_.key)}
    if task.from_.versionId:
        source["VersionId"] = props.text(ctx, task.from_.versionId)
    bucket, key = props.text(ctx, task.to.bucket), props.text(ctx, task.to.key)
    try:
        answer = s3.copy_object(Bucket=bucket, Key=key, CopySource=source)
        if props.boolean(ctx, task.delete):
            s3.delete_object(Bucket=source["Bucket"], Key=source["Key"])
    except (ClientError, BotoCoreError) as exc:
        raise _failing(f"Copy to s3://{bucket}/{key}", exc) from None
    result = answer.get("CopyObjectResult", {})
    return {
        "bucket": bucket,
        "key": key,
        "eTag": result.get("ETag"),
        "versionId": answer.get("VersionId"),
    }


@runs(S3CreateBucket)
def run_create_bucket(task: S3CreateBucket, ctx: RunContext) -> dict[str, Any]:
    s3 = client(task, ctx)
    bucket = props.text(ctx, task.bucket)
    arguments: dict[str, Any] = {"Bucket": bucket}
    region = props.optional_text(ctx, task.region)
    if region and region != "us-east-1":
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
    if task.acl:
        arguments["ACL"] = props.text(ctx, task.acl)
    if task.objectLockEnabledForBucket is not None:
        arguments["ObjectLockEnabledForBucket"] = props.boolean(
            ctx, task.objectLockEnabledForBucket
        )
    try:
        answer = s3.create_bucket(**arguments)
    except (ClientError, BotoCoreError) as exc:
        raise _failing(f"Creation of bucket {bucket}", exc) from None
    return {"bucket": bucket, "region": region, "location": answer.get("Location")}
