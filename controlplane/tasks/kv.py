"""KV store tasks: Set, Get, Delete, GetKeys (``io.kestra.plugin.core.kv.*``)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from controlplane.engine.attempt_functions import plain_value
from controlplane.engine.ports import KvType
from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.durations import format_duration, parse_duration
from controlplane.spec.plugins.core import KvDelete, KvGet, KvGetKeys, KvSet
from controlplane.tasks import props


def _namespace(ctx: RunContext, namespace: str | None) -> str:
    return props.text(ctx, namespace) if namespace else ctx.namespace


@runs(KvSet)
def run_set(task: KvSet, ctx: RunContext) -> None:
    namespace = _namespace(ctx, task.namespace)
    key = props.text(ctx, task.key)
    raw = ctx.render_typed(task.value)
    kind: KvType = task.kvType or _inferred(raw)
    value = coerce(raw, kind, key)
    if not props.boolean(ctx, task.overwrite) and ctx.kv_get(namespace, key) is not None:
        raise TaskFailed(
            f"Cannot set value for key '{key}' in namespace '{namespace}': the key already "
            "exists and `overwrite` is set to `false`"
        )
    ttl = props.duration(ctx, task.ttl, "ttl").total_seconds() if task.ttl is not None else None
    ctx.kv_set(namespace, key, value, kind, ttl)


def _inferred(value: Any) -> KvType:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int | float):
        return "NUMBER"
    if isinstance(value, dict | list):
        return "JSON"
    return "STRING"


def coerce(value: Any, kind: KvType, key: str) -> Any:
    """The value stored for ``kind``: JSON-friendly, validated; TaskFailed naming the key."""
    try:
        return _COERCE[kind](value)
    except (ValueError, TypeError) as exc:
        detail = f" ({exc})" if str(exc) else ""
        raise TaskFailed(
            f"the value {value!r} of key '{key}' is not a valid {kind}{detail}"
        ) from None


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, int | float):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise ValueError("expected true or false")
    return text == "true"


def _datetime(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("a DATETIME needs a time zone, e.g. 2025-01-31T08:00:00Z")
    return moment.isoformat()


def _date(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()[:10]
    return date.fromisoformat(str(value).strip()).isoformat()


def _duration(value: Any) -> str:
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_duration(timedelta(seconds=value))
    return format_duration(parse_duration(str(value)))


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


_COERCE = {
    "NUMBER": _number,
    "BOOLEAN": _boolean,
    "DATETIME": _datetime,
    "DATE": _date,
    "DURATION": _duration,
    "JSON": _json,
    "STRING": _string,
}


@runs(KvGet)
def run_get(task: KvGet, ctx: RunContext) -> dict[str, Any]:
    namespace = _namespace(ctx, task.namespace)
    key = props.text(ctx, task.key)
    entry = ctx.kv_get(namespace, key)
    if entry is None and props.boolean(ctx, task.errorOnMissing):
        raise TaskFailed(f"the key '{key}' does not exist in namespace '{namespace}'")
    return {"value": plain_value(entry.value) if entry is not None else None}


@runs(KvDelete)
def run_delete(task: KvDelete, ctx: RunContext) -> dict[str, Any]:
    namespace = _namespace(ctx, task.namespace)
    key = props.text(ctx, task.key)
    deleted = ctx.kv_delete(namespace, key)
    if not deleted and props.boolean(ctx, task.errorOnMissing):
        raise TaskFailed(f"the key '{key}' does not exist in namespace '{namespace}'")
    return {"deleted": deleted}


@runs(KvGetKeys)
def run_get_keys(task: KvGetKeys, ctx: RunContext) -> dict[str, Any]:
    namespace = _namespace(ctx, task.namespace)
    prefix = props.optional_text(ctx, task.prefix)
    return {"keys": ctx.kv_keys(namespace, prefix)}
