"""Internal-storage tasks: Write, Concat, Size, Delete, Reverse, Split, DeduplicateItems,
FilterItems and LocalFiles (``io.kestra.plugin.core.storage.*``).

Item files are Ion text, one value per line, as Kestra stores rows; FilterItems and
DeduplicateItems render their expression with the item's fields as variables.
"""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path
from typing import Any

from controlplane.engine.attempt_functions import default_renderer
from controlplane.engine.globs import glob_match
from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.storage import (
    Concat,
    DeduplicateItems,
    Delete,
    FilterItems,
    LocalFiles,
    Reverse,
    Size,
    Split,
    Write,
)
from controlplane.tasks import props
from controlplane.tasks.ion_text import IonError, read_value
from controlplane.tasks.scripts import target_path

_BYTES = re.compile(r"^\s*(\d+)\s*([KMGT]?B)?\s*$", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def _name(extension: str) -> str:
    suffix = extension if not extension or extension.startswith(".") else "." + extension
    return secrets.token_hex(8) + suffix


def read_bytes(ctx: RunContext, uri: str) -> bytes:
    """The content of an internal-storage file; TaskFailed naming the URI when it is absent."""
    if not uri.startswith("kestra://"):
        raise TaskFailed(f"'{uri}' is not an internal-storage URI (kestra:///...)")
    with ctx.open_file(uri) as stream:
        return stream.read()


@runs(Write)
def run_write(task: Write, ctx: RunContext) -> dict[str, Any]:
    content = props.text(ctx, task.content).encode("utf-8")
    uri = ctx.put_file(_name(props.text(ctx, task.extension)), content)
    return {"uri": uri, "size": len(content)}


@runs(Concat)
def run_concat(task: Concat, ctx: RunContext) -> dict[str, Any]:
    files = ctx.render_typed(task.files)
    if isinstance(files, str):
        files = props.string_list(ctx, files, "files")
    if not isinstance(files, list):
        raise TaskFailed(f"'files' must be a list of kestra:// URIs, got {files!r}")
    separator = props.optional_text(ctx, task.separator)
    parts = [read_bytes(ctx, str(uri)) for uri in files]
    joined = (separator or "").encode("utf-8").join(parts)
    return {"uri": ctx.put_file(_name(props.text(ctx, task.extension)), joined)}


@runs(Size)
def run_size(task: Size, ctx: RunContext) -> dict[str, Any]:
    return {"size": len(read_bytes(ctx, props.text(ctx, task.uri)))}


@runs(Delete)
def run_delete(task: Delete, ctx: RunContext) -> dict[str, Any]:
    uri = props.text(ctx, task.uri)
    try:
        ctx.open_file(uri).close()  # refused (TaskFailed) when this execution may not read it
        deleted = ctx.control.delete_storage_file(uri)
    except FileNotFoundError:
        deleted = False
    if not deleted and props.boolean(ctx, task.errorOnMissing):
        raise TaskFailed(f"Unable to find file '{uri}'")
    return {"uri": uri, "deleted": deleted}


@runs(Reverse)
def run_reverse(task: Reverse, ctx: RunContext) -> dict[str, Any]:
    source = props.text(ctx, task.from_)
    separator = props.text(ctx, task.separator)
    charset = props.text(ctx, task.charset)
    lines = read_bytes(ctx, source).decode(charset).split(separator)
    if lines and lines[-1] == "":
        lines.pop()
    body = "".join(line + separator for line in reversed(lines))
    return {"uri": ctx.put_file(_name(Path(source).suffix), body.encode(charset))}


@runs(Split)
def run_split(task: Split, ctx: RunContext) -> dict[str, Any]:
    source = props.text(ctx, task.from_)
    separator = props.text(ctx, task.separator)
    chosen = [task.bytes is not None, task.partitions is not None, task.rows is not None]
    if sum(chosen) != 1:
        raise TaskFailed("Split needs exactly one of 'bytes', 'partitions' or 'rows'")
    text = read_bytes(ctx, source).decode("utf-8")
    lines = [line + separator for line in text.split(separator)]
    if lines and lines[-1] == separator:
        lines.pop()
    chunks = _chunks(ctx, task, lines)
    suffix = Path(source).suffix
    return {"uris": [ctx.put_file(_name(suffix), "".join(c).encode()) for c in chunks if c]}


def _chunks(ctx: RunContext, task: Split, lines: list[str]) -> list[list[str]]:
    rows = props.integer(ctx, task.rows, "rows") if task.rows is not None else None
    parts = (
        props.integer(ctx, task.partitions, "partitions") if task.partitions is not None else None
    )
    limit = _byte_size(props.text(ctx, task.bytes)) if task.bytes is not None else None
    return chunk_lines(lines, rows, parts, limit)


def chunk_lines(
    lines: list[str], rows: int | None, partitions: int | None, max_bytes: int | None
) -> list[list[str]]:
    """``lines`` cut by ``rows`` per chunk, into ``partitions`` chunks, or by ``max_bytes``."""
    if rows is not None:
        size = max(rows, 1)
        return [lines[i : i + size] for i in range(0, len(lines), size)]
    if partitions is not None:
        count = max(partitions, 1)
        return [lines[i::count] for i in range(count)]
    chunks: list[list[str]] = [[]]
    used = 0
    for line in lines:
        size = len(line.encode())
        if chunks[-1] and max_bytes is not None and used + size > max_bytes:
            chunks.append([])
            used = 0
        chunks[-1].append(line)
        used += size
    return chunks


def byte_size(text: str) -> int:
    """``10MB``, ``512KB`` or ``1024`` as a number of bytes."""
    return _byte_size(text)


def _byte_size(text: str) -> int:
    match = _BYTES.match(text)
    if match is None:
        raise TaskFailed(f"'bytes' must be a size such as 10MB or 1024, got '{text}'")
    return int(match.group(1)) * _UNITS[(match.group(2) or "B").upper()]


def _items(ctx: RunContext, uri: str) -> list[tuple[str, Any]]:
    items = []
    for number, line in enumerate(read_bytes(ctx, uri).decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append((line, read_value(line)))
        except IonError as exc:
            raise TaskFailed(f"line {number} of {uri} is not an Ion value: {exc}") from None
    return items


def _render_with(ctx: RunContext, expression: str, item: Any) -> Any:
    fields = item if isinstance(item, dict) else {"value": item}
    return default_renderer().render_typed(expression, {**ctx.variables(), **fields})


@runs(FilterItems)
def run_filter_items(task: FilterItems, ctx: RunContext) -> dict[str, Any]:
    source = props.text(ctx, task.from_)
    kept: list[str] = []
    dropped = 0
    for line, item in _items(ctx, source):
        verdict = _render_with(ctx, task.filterCondition, item)
        if verdict is None or not isinstance(verdict, bool | str):
            if task.errorOrNullBehavior == "FAIL":
                raise TaskFailed(f"the filter gave {verdict!r} (not a boolean) for item {line}")
            matched = task.errorOrNullBehavior == "INCLUDE"
        else:
            matched = verdict is True or str(verdict).strip().lower() == "true"
            matched = matched if task.filterType == "INCLUDE" else not matched
        if matched:
            kept.append(line)
        else:
            dropped += 1
    body = "".join(line + "\n" for line in kept).encode()
    return {
        "uri": ctx.put_file(_name(".ion"), body),
        "processedItemsTotal": len(kept) + dropped,
        "droppedItemsTotal": dropped,
    }


@runs(DeduplicateItems)
def run_deduplicate_items(task: DeduplicateItems, ctx: RunContext) -> dict[str, Any]:
    """Keeps the last item of each key, in the order of those last items, as Kestra does."""
    items = _items(ctx, props.text(ctx, task.from_))
    last: dict[str, int] = {}
    for index, (_, item) in enumerate(items):
        last[str(_render_with(ctx, task.expr, item))] = index
    keep = sorted(last.values())
    body = "".join(items[i][0] + "\n" for i in keep).encode()
    return {
        "uri": ctx.put_file(_name(".ion"), body),
        "numKeys": len(last),
        "processedItemsTotal": len(items),
        "droppedItemsTotal": len(items) - len(keep),
    }


@runs(LocalFiles)
def run_local_files(task: LocalFiles, ctx: RunContext) -> dict[str, Any]:
    workdir = ctx.working_dir
    for name, value in props.mapping(ctx, task.inputs, "inputs").items():
        content = props.text(ctx, value) if isinstance(value, str) else str(value)
        target = target_path(workdir, props.text(ctx, name))
        if content.startswith("kestra://"):
            with ctx.open_file(content) as stream, target.open("wb") as out:
                shutil.copyfileobj(stream, out)
        else:
            target.write_text(content, encoding="utf-8")
    patterns = props.string_list(ctx, task.outputs, "outputs")
    uris: dict[str, str] = {}
    for path in sorted(p for p in workdir.rglob("*") if p.is_file()):
        relative = path.relative_to(workdir).as_posix()
        if any(glob_match(pattern, relative) for pattern in patterns):
            uris[relative] = ctx.put_file(relative, path)
    return {"uris": uris}
