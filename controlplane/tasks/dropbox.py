"""Dropbox files over the HTTP API v2 with ``requests``: RPC calls to ``api.dropboxapi.com`` and
content calls (upload, download) to ``content.dropboxapi.com``, both moved to one address by
``DROPBOX_BASE_URL`` in the worker's environment (a proxy or a compatible server)."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import requests

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.dropbox import (
    DropboxCopy,
    DropboxCreateFolder,
    DropboxDelete,
    DropboxDownload,
    DropboxList,
    DropboxMove,
    DropboxSearch,
    DropboxUpload,
    _Dropbox,
)
from controlplane.tasks import props
from controlplane.tasks.fetched import fetch_type, fetched
from controlplane.tasks.storage import read_bytes

API, CONTENT = "https://api.dropboxapi.com", "https://content.dropboxapi.com"
_SNAKE = re.compile(r"_([a-z])")


class _Client:
    def __init__(self, task: _Dropbox, ctx: RunContext) -> None:
        base = os.environ.get("DROPBOX_BASE_URL", "").rstrip("/")
        self.api, self.content = (base, base) if base else (API, CONTENT)
        self.auth = {"Authorization": f"Bearer {props.text(ctx, task.accessToken)}"}

    def _send(self, url: str, **kwargs: Any) -> requests.Response:
        try:
            response = requests.post(url, timeout=(30, 600), **kwargs)
        except requests.RequestException as exc:
            raise TaskFailed(f"Dropbox could not be reached: {type(exc).__name__}") from None
        if response.status_code >= 400:
            try:
                summary = response.json().get("error_summary")
            except (ValueError, AttributeError):
                summary = None
            raise TaskFailed(
                f"Dropbox answered {response.status_code}: {summary or response.text[:300]}"
            )
        return response

    def rpc(self, endpoint: str, body: dict[str, Any]) -> Any:
        return self._send(f"{self.api}/2/{endpoint}", json=body, headers=self.auth).json()

    def content_call(self, endpoint: str, argument: dict[str, Any], data: bytes = b"") -> Any:
        headers = {
            **self.auth,
            "Dropbox-API-Arg": json.dumps(argument),
            "Content-Type": "application/octet-stream",
        }
        return self._send(f"{self.content}/2/{endpoint}", data=data, headers=headers)


def _path(ctx: RunContext, value: str, name: str) -> str:
    rendered = props.text(ctx, value).strip()
    if rendered.startswith("kestra://"):
        rendered = read_bytes(ctx, rendered).decode("utf-8").strip()
    if not rendered:
        raise TaskFailed(f"'{name}' is required and cannot be empty")
    if not rendered.startswith("/"):
        raise TaskFailed(f"'{name}' path must start with '/'")
    return rendered


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {_SNAKE.sub(lambda m: m.group(1).upper(), k): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _file(metadata: dict[str, Any]) -> dict[str, Any]:
    """An entry as Kestra describes it."""
    kind = metadata.get(".tag")
    entry: dict[str, Any] = {
        "name": metadata.get("name"),
        "id": metadata.get("path_lower"),
        "path": metadata.get("path_display"),
        "type": "folder" if kind == "folder" else "file" if kind == "file" else kind,
    }
    if kind == "file":
        entry["size"] = metadata.get("size")
        entry["clientModified"] = metadata.get("client_modified")
    return entry


@runs(DropboxUpload)
def run_dropbox_upload(task: DropboxUpload, ctx: RunContext) -> dict[str, Any]:
    data = read_bytes(ctx, props.text(ctx, task.from_))
    mode = props.text(ctx, task.mode).lower()
    if mode not in ("add", "overwrite"):
        raise TaskFailed("'mode' must be ADD or OVERWRITE")
    argument = {
        "path": _path(ctx, task.to, "to"),
        "mode": mode,
        "autorename": props.boolean(ctx, task.autorename),
    }
    metadata = _Client(task, ctx).content_call("files/upload", argument, data).json()
    ctx.info(f"Uploaded {len(data)} bytes to {metadata.get('path_display')}")
    return {"metadata": _camel(metadata)}


@runs(DropboxDownload)
def run_dropbox_download(task: DropboxDownload, ctx: RunContext) -> dict[str, Any]:
    path = _path(ctx, task.from_, "from")
    response = _Client(task, ctx).content_call("files/download", {"path": path})
    metadata = json.loads(response.headers.get("Dropbox-API-Result") or "{}")
    name = path.rsplit("/", 1)[-1] or "download"
    return {"uri": ctx.put_file(name, response.content), "metadata": _camel(metadata)}


@runs(DropboxList)
def run_dropbox_list(task: DropboxList, ctx: RunContext) -> dict[str, Any]:
    kind = fetch_type(ctx, task.fetchType)
    path = _path(ctx, task.from_, "from")
    limit = props.integer(ctx, task.limit, "limit")
    client = _Client(task, ctx)
    body = {"path": "" if path == "/" else path, "recursive": props.boolean(ctx, task.recursive)}
    answer = client.rpc("files/list_folder", {**body, "limit": min(limit, 2000)})
    entries = list(answer.get("entries") or [])
    while answer.get("has_more") and len(entries) < limit:
        answer = client.rpc("files/list_folder/continue", {"cursor": answer["cursor"]})
        entries += answer.get("entries") or []
    return fetched(ctx, kind, [_file(e) for e in entries[:limit]], "dropbox.ion")


def _relocate(
    task: DropboxMove | DropboxCopy, ctx: RunContext, endpoint: str, extra: dict[str, Any]
) -> dict[str, Any]:
    body = {
        "from_path": _path(ctx, task.from_, "from"),
        "to_path": _path(ctx, task.to, "to"),
        "autorename": props.boolean(ctx, task.autorename),
        **extra,
    }
    answer = _Client(task, ctx).rpc(endpoint, body)
    return {"file": _file(answer.get("metadata") or {})}


@runs(DropboxMove)
def run_dropbox_move(task: DropboxMove, ctx: RunContext) -> dict[str, Any]:
    transfer = props.boolean(ctx, task.allowOwnershipTransfer)
    return _relocate(task, ctx, "files/move_v2", {"allow_ownership_transfer": transfer})


@runs(DropboxCopy)
def run_dropbox_copy(task: DropboxCopy, ctx: RunContext) -> dict[str, Any]:
    return _relocate(task, ctx, "files/copy_v2", {})


@runs(DropboxDelete)
def run_dropbox_delete(task: DropboxDelete, ctx: RunContext) -> dict[str, Any]:
    answer = _Client(task, ctx).rpc("files/delete_v2", {"path": _path(ctx, task.from_, "from")})
    return {"file": _file(answer.get("metadata") or {})}


@runs(DropboxCreateFolder)
def run_dropbox_create_folder(task: DropboxCreateFolder, ctx: RunContext) -> dict[str, Any]:
    body = {
        "path": _path(ctx, task.path, "path"),
        "autorename": props.boolean(ctx, task.autorename),
    }
    answer = _Client(task, ctx).rpc("files/create_folder_v2", body)
    return {"file": _file({".tag": "folder", **(answer.get("metadata") or {})})}


@runs(DropboxSearch)
def run_dropbox_search(task: DropboxSearch, ctx: RunContext) -> dict[str, Any]:
    kind = fetch_type(ctx, task.fetchType)
    options: dict[str, Any] = {}
    if task.path is not None:
        options["path"] = _path(ctx, task.path, "path")
    if task.maxResults is not None:
        options["max_results"] = props.integer(ctx, task.maxResults, "maxResults")
    extensions = props.string_list(ctx, task.fileExtensions, "fileExtensions")
    if extensions:
        options["file_extensions"] = extensions
    client = _Client(task, ctx)
    answer = client.rpc(
        "files/search_v2", {"query": props.text(ctx, task.query), "options": options}
    )
    matches = list(answer.get("matches") or [])
    while answer.get("has_more"):
        answer = client.rpc("files/search/continue_v2", {"cursor": answer["cursor"]})
        matches += answer.get("matches") or []
    rows = [_file((m.get("metadata") or {}).get("metadata") or {}) for m in matches]
    return fetched(ctx, kind, rows, "dropbox.ion")
