"""``gcs.Trigger``: the files under ``from`` (as ``gcs.List`` selects them, files only) that are
new or changed since the trigger last fired (``on``; see :mod:`controlplane.tasks.polled`), at
most ``maxFiles``, downloaded to internal storage: ``trigger.blobs`` holds each with its
``uri`` there and its ``changeType``. Then, before the execution is created (as in Kestra),
``action: MOVE`` moves each file into ``moveDirectory``, ``DELETE`` deletes it; with ``NONE`` (the
default) the files stay and fire again only when they change (a new generation or
metageneration)."""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

import google.cloud.storage as storage
from google.api_core.exceptions import GoogleAPIError

from controlplane.engine.pollcontext import poll_context
from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.gcp import GcsDownloads, GcsList
from controlplane.spec.plugins.polling import GcsTrigger
from controlplane.tasks import props
from controlplane.tasks.gcp import failing
from controlplane.tasks.gcp_gcs import _after_download, client, list_blobs
from controlplane.tasks.polled import ObjectMemory, as_task


@runs(GcsTrigger)
def poll_gcs(trigger: GcsTrigger, ctx: RunContext) -> dict[str, Any] | None:
    poll = poll_context(ctx)
    listing = as_task(GcsList, trigger, filter="FILES")
    gcs = client(listing, ctx)
    blobs = list_blobs(listing, ctx, gcs)
    memory = ObjectMemory(poll.memory, trigger.on, trigger.stateTtl)
    memory.keep_only({item["uri"] for item in blobs})
    limit = props.integer(ctx, trigger.maxFiles, "maxFiles")
    fired: list[dict[str, Any]] = []
    for item in blobs:
        if len(fired) >= limit:
            break
        change = memory.change(item["uri"], _version(item))
        if change is None:
            continue
        fired.append({**item, "uri": _download(ctx, gcs, item), "changeType": change})
    memory.trim()
    if not fired:
        return None
    if trigger.action != "NONE":
        _gcs_action(trigger, ctx, gcs, fired, memory)
    ctx.info(f"{len(fired)} file(s) under {props.text(ctx, trigger.from_)} fire the trigger")
    return {"blobs": fired}


def _version(item: dict[str, Any]) -> str:
    """What changes when the object does: its generation (in its id) and metageneration."""
    parts = (item.get("generatedId"), item.get("metaGeneration"), item.get("md5"))
    return "_".join(str(part) for part in parts)


def _download(ctx: RunContext, gcs: storage.Client, item: dict[str, Any]) -> str:
    source = gcs.bucket(item["bucket"]).blob(item["name"])
    with tempfile.TemporaryDirectory(prefix="weir-gcs-") as folder:
        local = Path(folder) / "object"
        try:
            source.download_to_filename(str(local))
        except GoogleAPIError as exc:
            raise failing(f"Download of {item['uri']}", exc) from None
        return ctx.put_file(PurePosixPath(item["name"]).name, local)


def _gcs_action(
    trigger: GcsTrigger,
    ctx: RunContext,
    gcs: storage.Client,
    fired: list[dict[str, Any]],
    memory: ObjectMemory,
) -> None:
    task = as_task(GcsDownloads, trigger, action=trigger.action)
    move_to = props.optional_text(ctx, trigger.moveDirectory)
    if task.action == "MOVE" and not move_to:
        raise TaskFailed("action MOVE needs 'moveDirectory', the gs://bucket/folder to move to")
    for item in fired:
        origin = f"gs://{item['bucket']}/{item['name']}"
        _after_download(task, gcs, {**item, "uri": origin}, move_to)
        memory.forget(origin)
