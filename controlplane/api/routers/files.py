"""Namespace files: the scripts and other files a namespace's flows use, sent as raw bytes.

The bytes lie in the internal storage at ``namespace_file_path(namespace, path)``; the store keeps
their size, SHA-256, manager and revision. A write is checked against the control-plane rules and
against the files already there before any byte is written, so a refused write changes nothing.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from datetime import datetime
from pathlib import PurePosixPath
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel

from controlplane.api.auth import Caller
from controlplane.api.control import Intent, check_write, tag
from controlplane.api.deps import NamespacePath, StoreDep
from controlplane.api.errors import BadRequest, Conflict, NotFound
from controlplane.engine.ports import NamespaceFileRecord, Repositories, namespace_file_path

router = APIRouter(prefix="/namespaces/{namespace}/files", tags=["files"])

MAX_PATH_BYTES = 1024
MAX_PART_BYTES = 255
"""What file systems allow for one name."""
_ANY = r"[^/\\\x00-\x1f\x7f]"
_NOT_DOT = r"[^./\\\x00-\x1f\x7f]"
_PART = rf"(?:{_NOT_DOT}{_ANY}{{0,254}}|\.{_NOT_DOT}{_ANY}{{0,253}}|\.\.{_ANY}{{1,253}})"
FILE_PATH_PATTERN = rf"^{_PART}(?:/{_PART})*$"
"""'/'-separated parts of 1 to 255 characters, none '.' or '..'; no backslash, no control
character. The sizes in bytes are checked besides: UTF-8 may take more bytes than characters."""
PATH_RULE = (
    "a file path is relative and '/'-separated, such as 'scripts/etl.py': no leading, trailing "
    "or doubled '/', no '.' or '..' parts, no backslash or control characters, "
    f"at most {MAX_PATH_BYTES} bytes as UTF-8 and {MAX_PART_BYTES} bytes per part"
)


def file_path(
    path: Annotated[
        str,
        Path(
            max_length=MAX_PATH_BYTES,
            description="Relative and '/'-separated, such as 'scripts/etl.py'.",
            json_schema_extra={"pattern": FILE_PATH_PATTERN},
        ),
    ],
) -> str:
    """The file's path, or 400 saying what a valid one looks like."""
    parts = path.split("/")
    if (
        re.fullmatch(FILE_PATH_PATTERN, path) is None
        or len(path.encode()) > MAX_PATH_BYTES
        or any(len(part.encode()) > MAX_PART_BYTES for part in parts)
    ):
        raise BadRequest(PATH_RULE, {"parameter": "path"})
    return path


FilePath = Annotated[str, Depends(file_path)]


async def raw_body(request: Request) -> bytes:
    return await request.body()


class FileMeta(BaseModel):
    namespace: str
    path: str
    size: int
    sha256: str
    managed_by: str | None
    revision: int
    updated: datetime

    @classmethod
    def of(cls, record: NamespaceFileRecord) -> FileMeta:
        return cls(
            namespace=record.namespace,
            path=record.path,
            size=record.size,
            sha256=record.sha256,
            managed_by=record.managed_by,
            revision=record.revision,
            updated=record.updated,
        )


BYTES = {"schema": {"type": "string", "format": "binary"}}


@router.get("", summary="List a namespace's files")
def list_files(
    namespace: NamespacePath,
    caller: Caller,
    store: StoreDep,
    prefix: Annotated[
        str | None,
        Query(
            max_length=MAX_PATH_BYTES,
            pattern=r"^[^\x00-\x1f\x7f]*$",
            description="Only the files whose path starts with this, such as 'scripts/'.",
        ),
    ] = None,
) -> list[FileMeta]:
    caller.require("read", namespace)
    with store.unit(read_only=True) as repos:
        records = repos.namespace_files.list_namespace_files(namespace, prefix)
    return [FileMeta.of(r) for r in records]


@router.get(
    "/{path:path}",
    summary="Download a namespace file",
    response_class=Response,
    responses={
        200: {
            "description": "The file's bytes; the Content-Type is guessed from its name.",
            "content": {"application/octet-stream": BYTES, "*/*": BYTES},
        }
    },
)
def read_file(
    namespace: NamespacePath, path: FilePath, caller: Caller, store: StoreDep
) -> Response:
    caller.require("read", namespace)
    with store.unit(read_only=True) as repos:
        record = repos.namespace_files.read_namespace_file(namespace, path)
    if record is None:
        raise NotFound(f"file {path} does not exist in namespace {namespace}")
    try:
        with store.files.open(namespace_file_path(namespace, path)) as handle:
            data = handle.read()
    except FileNotFoundError:
        raise NotFound(
            f"the bytes of file {path} of namespace {namespace} are missing from the internal "
            "storage; upload it again"
        ) from None
    # The name alone: a whole path such as 'data:a/b,c' would be read as a data URL.
    media_type, _ = mimetypes.guess_type(PurePosixPath(path).name)
    answer = Response(data, media_type=media_type or "application/octet-stream")
    tag(answer, record.revision)
    return answer


@router.put(
    "/{path:path}",
    summary="Upload a namespace file",
    responses={201: {"model": FileMeta, "description": "Created"}},
    openapi_extra={
        "requestBody": {
            "content": {"application/octet-stream": BYTES},
            "description": "The file's bytes; an empty body makes an empty file.",
            "required": False,
        }
    },
)
def put_file(
    namespace: NamespacePath,
    path: FilePath,
    caller: Caller,
    data: Annotated[bytes, Depends(raw_body)],
    intent: Intent,
    store: StoreDep,
    response: Response,
) -> FileMeta:
    caller.require("write", namespace)
    target = namespace_file_path(namespace, path)
    with store.unit() as repos:
        stored = repos.namespace_files.read_namespace_file(namespace, path)
        check_write("file", f"{path} of namespace {namespace}", stored, intent)
        if stored is None:
            _check_room(repos, namespace, path)
        saved = repos.namespace_files.update_namespace_file(
            namespace, path, len(data), hashlib.sha256(data).hexdigest(), intent.manager
        )
        if stored is None:
            # A folder whose files were deleted may still stand where the new file goes.
            store.files.delete_prefix(target)
        store.files.put(target, data)
    if stored is None:
        response.status_code = status.HTTP_201_CREATED
    tag(response, saved.revision)
    return FileMeta.of(saved)


@router.delete(
    "/{path:path}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a namespace file"
)
def delete_file(
    namespace: NamespacePath, path: FilePath, caller: Caller, intent: Intent, store: StoreDep
) -> None:
    caller.require("write", namespace)
    with store.unit() as repos:
        stored = repos.namespace_files.read_namespace_file(namespace, path)
        if stored is None:
            raise NotFound(f"file {path} does not exist in namespace {namespace}")
        check_write("file", f"{path} of namespace {namespace}", stored, intent)
        repos.namespace_files.delete_namespace_file(namespace, path)
        store.files.delete_prefix(namespace_file_path(namespace, path))


def _check_room(repos: Repositories, namespace: str, path: str) -> None:
    """409 when a new file would lie below another file, or where a folder of files is."""
    parts = path.split("/")
    for end in range(1, len(parts)):
        folder = "/".join(parts[:end])
        if repos.namespace_files.read_namespace_file(namespace, folder) is not None:
            raise Conflict(
                f"{folder} is a file of namespace {namespace}, so {path} cannot lie below it; "
                "delete or rename one of them",
                {"file": folder},
            )
    below = repos.namespace_files.list_namespace_files(namespace, path + "/")
    if below:
        raise Conflict(
            f"{path} is a folder of namespace {namespace}, with files such as {below[0].path}; "
            "choose another path, or delete the files below it first",
            {"files": len(below)},
        )
