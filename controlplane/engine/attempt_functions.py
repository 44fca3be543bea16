"""The expression functions a running task may call besides the pure ones: ``secret``, ``kv``,
``read``, ``fileURI``, ``fileExists``, ``fileSize``, ``fileEmpty`` and ``errorLogs``.

Each finds its attempt through the render context (:class:`Scope`), so one compiled template
serves every attempt.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from controlplane.expr import ExpressionError, Renderer, needs_context
from controlplane.spec.durations import format_duration

if TYPE_CHECKING:
    from controlplane.engine.attempt_context import AttemptContext


def plain_value(value: Any) -> Any:
    """A KV value as outputs and expressions see it: dates and durations as ISO-8601 text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return format_duration(value)
    return value


class Scope(dict[str, Any]):
    """The render context of one attempt; expression functions find the attempt through it."""

    attempt: AttemptContext


def _attempt_of(context: Mapping[str, Any], name: str) -> AttemptContext:
    attempt = getattr(context, "attempt", None)
    if attempt is None:
        raise ExpressionError(f"{name}() is only available while a task runs")
    return attempt  # type: ignore[no-any-return]


@needs_context
def _secret(context: Mapping[str, Any], name: str) -> str:
    return _attempt_of(context, "secret").secret(name)


@needs_context
def _kv(
    context: Mapping[str, Any], key: str, namespace: str | None = None, errorOnMissing: bool = True
) -> Any:
    attempt = _attempt_of(context, "kv")
    start = namespace or attempt.namespace
    for candidate in namespace_chain(start):
        if candidate != start and not attempt.may_reach(candidate, inherited=True):
            continue  # an ancestor of another namespace, which this one may not read
        entry = attempt.kv_get(candidate, key)
        if entry is not None:
            return plain_value(entry.value)
    if errorOnMissing:
        raise ExpressionError(f"the KV key '{key}' does not exist in namespace '{start}'")
    return None


@needs_context
def _read(context: Mapping[str, Any], path: str) -> str:
    attempt = _attempt_of(context, "read")
    with attempt.open_file(attempt.resolve(path)) as stream:
        return stream.read().decode("utf-8")


@needs_context
def _file_uri(context: Mapping[str, Any], path: str) -> str:
    return _attempt_of(context, "fileURI").namespace_file_uri(path)


@needs_context
def _file_exists(context: Mapping[str, Any], path: str) -> bool:
    attempt = _attempt_of(context, "fileExists")
    return attempt.store.files.exists(attempt.checked_uri(attempt.resolve(path)))


@needs_context
def _file_size(context: Mapping[str, Any], path: str) -> int:
    attempt = _attempt_of(context, "fileSize")
    uri = attempt.resolve(path)
    return attempt.store.files.size(attempt.checked_uri(uri))


@needs_context
def _file_empty(context: Mapping[str, Any], path: str) -> bool:
    return _file_size(context, path) == 0


def attempt_functions() -> dict[str, Callable[..., Any]]:
    """The functions a running task's expressions may call besides the pure ones."""
    return {
        "secret": _secret,
        "kv": _kv,
        "read": _read,
        "fileURI": _file_uri,
        "fileExists": _file_exists,
        "fileSize": _file_size,
        "fileEmpty": _file_empty,
        "errorLogs": _error_logs,
    }


@needs_context
def _error_logs(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ERROR log lines of the execution so far, for errors and finally branches."""
    attempt = _attempt_of(context, "errorLogs")
    with attempt.store.unit() as repos:
        entries = repos.logs.list_logs(attempt.execution_id, min_level="ERROR")
    return [
        {
            "taskId": entry.task_id,
            "taskRunId": entry.task_run_id,
            "message": entry.message,
            "level": entry.level,
            "timestamp": entry.at.isoformat(),
        }
        for _, entry in entries
    ]


def namespace_chain(namespace: str) -> list[str]:
    """``a.b.c`` -> ``[a.b.c, a.b, a]``: where secrets, KV and namespace files are looked up."""
    parts = namespace.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


@functools.cache
def default_renderer() -> Renderer:
    """The renderer shared by attempts (its compiled-template cache is what makes it cheap)."""
    return Renderer(functions=attempt_functions())
