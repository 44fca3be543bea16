"""Archives (ZIP, JAR, TAR) and compressed files (GZIP, BZIP2, XZ, LZMA, DEFLATE) read from and
written to internal storage. The other formats Kestra names are refused with the reason."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import posixpath
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.compress import (
    ArchiveCompress,
    ArchiveDecompress,
    FileCompress,
    FileDecompress,
)
from controlplane.tasks import props
from controlplane.tasks.storage import read_bytes

_COMPRESSORS: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes], str]] = {
    "GZIP": (gzip.compress, gzip.decompress, ".gz"),
    "BZIP2": (bz2.compress, bz2.decompress, ".bz2"),
    "XZ": (lzma.compress, lzma.decompress, ".xz"),
    "LZMA": (
        lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE),
        lambda data: lzma.decompress(data, format=lzma.FORMAT_ALONE),
        ".lzma",
    ),
    "DEFLATE": (zlib.compress, zlib.decompress, ".deflate"),
}
_TAR_MODES = {None: "", "GZIP": "gz", "BZIP2": "bz2", "XZ": "xz"}


def _codec(name: str) -> tuple[Callable[[bytes], bytes], Callable[[bytes], bytes], str]:
    codec = _COMPRESSORS.get(name)
    if codec is None:
        raise TaskFailed(
            f"compression {name} is not available in Weir; use one of {', '.join(_COMPRESSORS)}"
        )
    return codec


def _stem(uri: str) -> str:
    return PurePosixPath(uri.split("?")[0]).name or "file"


@runs(FileCompress)
def run_file_compress(task: FileCompress, ctx: RunContext) -> dict[str, Any]:
    source = props.text(ctx, task.from_)
    compress, _, suffix = _codec(task.compression)
    return {"uri": ctx.put_file(_stem(source) + suffix, compress(read_bytes(ctx, source)))}


@runs(FileDecompress)
def run_file_decompress(task: FileDecompress, ctx: RunContext) -> dict[str, Any]:
    source = props.text(ctx, task.from_)
    _, decompress, suffix = _codec(task.compression)
    try:
        data = decompress(read_bytes(ctx, source))
    except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error) as exc:
        raise TaskFailed(f"{source} is not {task.compression} data: {exc}") from None
    name = _stem(source).removesuffix(suffix) or "file"
    return {"uri": ctx.put_file(name, data)}


@runs(ArchiveDecompress)
def run_archive_decompress(task: ArchiveDecompress, ctx: RunContext) -> dict[str, Any]:
    source = props.text(ctx, task.from_)
    data = read_bytes(ctx, source)
    if task.compression is not None and task.algorithm != "TAR":
        data = _codec(task.compression)[1](data)
    try:
        members = _unpack(task, data)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise TaskFailed(f"{source} is not a {task.algorithm} archive: {exc}") from None
    files = {}
    for name, content in members.items():
        safe = posixpath.normpath("/" + name).lstrip("/")
        files[name] = ctx.put_file(safe, content)
    ctx.metric("size", len(files))
    return {"files": files}


def _unpack(task: ArchiveDecompress, data: bytes) -> dict[str, bytes]:
    if task.algorithm in ("ZIP", "JAR"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}
    if task.algorithm == "TAR":
        mode = "r:" + _tar_mode(task.compression)
        with tarfile.open(fileobj=io.BytesIO(data), mode=mode) as archive:  # type: ignore[call-overload]
            members: dict[str, bytes] = {}
            for member in archive.getmembers():
                stream = archive.extractfile(member) if member.isfile() else None
                if stream is not None:
                    members[member.name] = stream.read()
            return members
    raise TaskFailed(f"{task.algorithm} archives are not available in Weir; use ZIP, JAR or TAR")


def _tar_mode(compression: str | None) -> str:
    if compression not in _TAR_MODES:
        raise TaskFailed(f"a TAR archive with {compression} compression is not available in Weir")
    return _TAR_MODES[compression]


@runs(ArchiveCompress)
def run_archive_compress(task: ArchiveCompress, ctx: RunContext) -> dict[str, Any]:
    entries = props.mapping(ctx, task.from_, "from")
    contents = {
        str(name): read_bytes(ctx, props.text(ctx, str(uri))) for name, uri in entries.items()
    }
    buffer = io.BytesIO()
    if task.algorithm in ("ZIP", "JAR"):
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in contents.items():
                archive.writestr(name, content)
        data, suffix = buffer.getvalue(), "." + task.algorithm.lower()
        if task.compression is not None:
            compress, _, extra = _codec(task.compression)
            data, suffix = compress(data), suffix + extra
    elif task.algorithm == "TAR":
        mode = "w:" + _tar_mode(task.compression)
        with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
            for name, content in contents.items():
                info = tarfile.TarInfo(name)
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
        data, suffix = (
            buffer.getvalue(),
            ".tar" + (_codec(task.compression)[2] if task.compression else ""),
        )
    else:
        raise TaskFailed(
            f"{task.algorithm} archives are not available in Weir; use ZIP, JAR or TAR"
        )
    return {"uri": ctx.put_file("archive" + suffix, data)}
