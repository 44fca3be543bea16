"""Google Cloud Storage with google-cloud-storage: Upload, Download, List, Delete, Copy and
CreateBucket, between buckets and internal storage. ``endpointOverride`` (or
STORAGE_EMULATOR_HOST on the worker) points them at another API root, such as fake-gcs-server."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

import google.cloud.storage as storage
from google.api_core.exceptions import GoogleAPIError, NotFound

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.gcp import (
    GcpConnection,
    GcsCopy,
    GcsCreateBucket,
    GcsDelete,
    GcsDownload,
    GcsDownloads,
    GcsList,
    GcsListing,
    GcsUpload,
)
from controlplane.tasks import props
from controlplane.tasks.gcp import connection, failing, split_gs_uri

_UPLOAD_FIELDS = ("contentType", "contentEncoding", "contentDisposition", "cacheControl")
_BLOB_ATTRIBUTES = {
    "size": "size", "contentType": "content_type", "contentEncoding": "content_encoding",
    "contentDisposition": "content_disposition", "contentLanguage": "content_language",
    "cacheControl": "cache_control", "etag": "etag", "md5": "md5_hash", "crc32c": "crc32c",
    "generatedId": "id", "selfLink": "self_link", "mediaLink": "media_link",
    "metaGeneration": "metageneration", "componentCount": "component_count",
    "storageClass": "storage_class", "kmsKeyName": "kms_key_name",
    "temporaryHold": "temporary_hold", "eventBasedHold": "event_based_hold",
}  # fmt: skip
_BLOB_TIMES = {"createTime": "time_created", "updateTime": "updated", "deleteTime": "time_deleted"}


def client(task: GcpConnection, ctx: RunContext) -> storage.Client:
    """A GCS client configured by the task's connection properties."""
    return storage.Client(**connection(task, ctx, "STORAGE_EMULATOR_HOST").client_kwargs())


@runs(GcsUpload)
def run_upload(task: GcsUpload, ctx: RunContext) -> dict[str, Any]:
    gcs = client(task, ctx)
    source, target = props.text(ctx, task.from_), props.text(ctx, task.to)
    bucket, path = split_gs_uri(target, "to")
    blob = gcs.bucket(bucket).blob(path)
    for name in _UPLOAD_FIELDS:
        value = props.optional_text(ctx, getattr(task, name))
        if value is not None:
            setattr(blob, _BLOB_ATTRIBUTES[name], value)
    with ctx.open_file(source) as stream:
        try:
            blob.upload_from_file(stream, content_type=blob.content_type)
        except GoogleAPIError as exc:
            raise failing(f"Upload to {target}", exc) from None
    ctx.metric("file.size", float(blob.size or 0), unit="bytes")
    ctx.info(f"Uploaded {source} to {target}")
    return {"uri": target}


@runs(GcsDownload)
def run_download(task: GcsDownload, ctx: RunContext) -> dict[str, Any]:
    gcs = client(task, ctx)
    source = props.text(ctx, task.from_)
    bucket, path = split_gs_uri(source, "from")
    with tempfile.TemporaryDirectory(prefix="weir-gcs-") as folder:
        local = Path(folder) / "object"
        try:
            gcs.bucket(bucket).blob(path).download_to_filename(str(local))
        except GoogleAPIError as exc:
            raise failing(f"Download of {source}", exc) from None
        uri = ctx.put_file(PurePosixPath(path).name or "object", local)
    return {"bucket": bucket, "path": path, "uri": uri}


def _blob(bucket: str, blob: Any) -> dict[str, Any]:
    """A blob as Kestra's GCS ``Blob`` output."""
    out: dict[str, Any] = {
        "uri": f"gs://{bucket}/{blob.name}",
        "name": blob.name,
        "bucket": bucket,
        "isDirectory": blob.name.endswith("/"),
        "metadata": blob.metadata or {},
    }
    for name, attribute in _BLOB_ATTRIBUTES.items():
        out[name] = getattr(blob, attribute, None)
    for name, attribute in _BLOB_TIMES.items():
        moment = getattr(blob, attribute, None)
        out[name] = moment.isoformat() if moment is not None else None
    return out


def list_blobs(task: GcsListing, ctx: RunContext, gcs: storage.Client) -> list[dict[str, Any]]:
    """The blobs under ``from``, as ``listingType``, ``filter`` and ``regExp`` select them."""
    source = props.text(ctx, task.from_)
    bucket, prefix = split_gs_uri(source, "from")
    pattern = props.optional_text(ctx, task.regExp)
    versions = task.allVersions is not None and props.boolean(ctx, task.allVersions)
    delimiter = "/" if task.listingType == "DIRECTORY" else None
    blobs: list[dict[str, Any]] = []
    try:
        for blob in gcs.list_blobs(
            bucket, prefix=prefix or None, delimiter=delimiter, versions=versions
        ):
            item = _blob(bucket, blob)
            if (task.filter == "FILES" and item["isDirectory"]) or (
                task.filter == "DIRECTORY" and not item["isDirectory"]
            ):
                continue
            if pattern and not re.fullmatch(pattern, item["uri"]):
                continue
            blobs.append(item)
    except GoogleAPIError as exc:
        raise failing(f"Listing of {source}", exc) from None
    return blobs


def _limited(task: GcsListing, ctx: RunContext, blobs: list[dict[str, Any]]) -> list[Any]:
    limit = props.integer(ctx, task.maxFiles, "maxFiles")
    if len(blobs) > limit:
        ctx.warning(f"{len(blobs)} blobs match, more than maxFiles ({limit}): keeping {limit}")
        return blobs[:limit]
    return blobs


@runs(GcsList)
def run_list(task: GcsList, ctx: RunContext) -> dict[str, Any]:
    blobs = _limited(task, ctx, list_blobs(task, ctx, client(task, ctx)))
    ctx.metric("size", float(len(blobs)), unit="files")
    return {"blobs": blobs}


@runs(GcsDownloads)
def run_downloads(task: GcsDownloads, ctx: RunContext) -> dict[str, Any]:
    """Every file the listing selects into internal storage, then moved or deleted (``action``);
    ``blobs`` carry their internal-storage ``uri``, ``outputFiles`` maps each name to it."""
    gcs = client(task, ctx)
    move_to = props.optional_text(ctx, task.moveDirectory)
    if task.action == "MOVE" and not move_to:
        raise TaskFailed("action MOVE needs 'moveDirectory', the gs://bucket/folder to move to")
    blobs = [b for b in _limited(task, ctx, list_blobs(task, ctx, gcs)) if not b["isDirectory"]]
    files: dict[str, str] = {}
    for item in blobs:
        source = gcs.bucket(item["bucket"]).blob(item["name"])
        with tempfile.TemporaryDirectory(prefix="weir-gcs-") as folder:
            local = Path(folder) / "object"
            try:
                source.download_to_filename(str(local))
            except GoogleAPIError as exc:
                raise failing(f"Download of {item['uri']}", exc) from None
            item["uri"] = files[item["name"]] = ctx.put_file(
                PurePosixPath(item["name"]).name, local
            )
        _after_download(task, gcs, item, move_to)
    return {"blobs": blobs, "outputFiles": files}


def _after_download(
    task: GcsDownloads, gcs: storage.Client, item: dict[str, Any], move_to: str | None
) -> None:
    if task.action == "NONE":
        return
    origin = gcs.bucket(item["bucket"])
    try:
        if task.action == "MOVE" and move_to:
            bucket, folder = split_gs_uri(move_to, "moveDirectory")
            target = f"{folder.rstrip('/')}/{PurePosixPath(item['name']).name}".lstrip("/")
            origin.copy_blob(origin.blob(item["name"]), gcs.bucket(bucket), target)
        origin.blob(item["name"]).delete()
    except GoogleAPIError as exc:
        raise failing(
            f"{task.action.title()} of gs://{item['bucket']}/{item['name']}", exc
        ) from None


@runs(GcsDelete)
def run_delete(task: GcsDelete, ctx: RunContext) -> dict[str, Any]:
    gcs = client(task, ctx)
    uri = props.text(ctx, task.uri)
    bucket, path = split_gs_uri(uri, "uri")
    try:
        gcs.bucket(bucket).blob(path).delete()
        deleted = True
    except NotFound:
        if props.boolean(ctx, task.errorOnMissing):
            raise failing(f"Delete of {uri}", FileNotFoundError("no such object")) from None
        deleted = False
    except GoogleAPIError as exc:
        raise failing(f"Delete of {uri}", exc) from None
    return {"uri": uri, "deleted": deleted}


@runs(GcsCopy)
def run_copy(task: GcsCopy, ctx: RunContext) -> dict[str, Any]:
    gcs = client(task, ctx)
    source, target = props.text(ctx, task.from_), props.text(ctx, task.to)
    from_bucket, from_path = split_gs_uri(source, "from")
    to_bucket, to_path = split_gs_uri(target, "to")
    try:
        origin = gcs.bucket(from_bucket)
        origin.copy_blob(origin.blob(from_path), gcs.bucket(to_bucket), to_path)
        if props.boolean(ctx, task.delete):
            origin.blob(from_path).delete()
    except GoogleAPIError as exc:
        raise failing(f"Copy of {source} to {target}", exc) from None
    ctx.info(f"Copied {source} to {target}")
    return {"uri": target}


_BUCKET_SETTINGS = {
    "location": "location", "storageClass": "storage_class", "labels": "labels",
    "versioningEnabled": "versioning_enabled", "requesterPays": "requester_pays",
    "defaultKmsKeyName": "default_kms_key_name",
    "defaultEventBasedHold": "default_event_based_hold", "retentionPeriod": "retention_period",
}  # fmt: skip


def _bucket_settings(task: GcsCreateBucket, ctx: RunContext) -> dict[str, Any]:
    """The bucket attributes the task sets, by the client's attribute name."""
    settings: dict[str, Any] = {}
    for name, attribute in _BUCKET_SETTINGS.items():
        value = getattr(task, name)
        if value is None:
            continue
        if name == "labels":
            settings[attribute] = {k: str(v) for k, v in props.mapping(ctx, value, name).items()}
        elif name in ("versioningEnabled", "requesterPays", "defaultEventBasedHold"):
            settings[attribute] = props.boolean(ctx, value)
        elif name == "retentionPeriod":
            settings[attribute] = props.integer(ctx, value, name)
        else:
            settings[attribute] = props.text(ctx, value)
    return settings


@runs(GcsCreateBucket)
def run_create_bucket(task: GcsCreateBucket, ctx: RunContext) -> dict[str, Any]:
    gcs = client(task, ctx)
    name = props.text(ctx, task.name)
    settings = _bucket_settings(task, ctx)
    bucket = gcs.bucket(name)
    for attribute, value in settings.items():
        setattr(bucket, attribute, value)
    if task.indexPage or task.notFoundPage:
        bucket.configure_website(
            props.optional_text(ctx, task.indexPage), props.optional_text(ctx, task.notFoundPage)
        )
    created = updated = False
    try:
        if gcs.lookup_bucket(name) is None:
            gcs.create_bucket(bucket, location=settings.get("location"))
            created = True
        elif task.ifExists == "ERROR":
            raise TaskFailed(
                f"bucket {name} already exists: set ifExists to SKIP or UPDATE to accept it"
            )
        elif task.ifExists == "UPDATE":
            bucket.patch()
            updated = True
    except GoogleAPIError as exc:
        raise failing(f"Creation of bucket {name}", exc) from None
    return {"bucket": name, "bucketUri": f"gs://{name}", "created": created, "updated": updated}
