"""KV store tasks: Set, Put, Get, Delete, GetKeys (``io.kestra.plugin.core.kv.*``)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from controlplane.engine.attempt_functions import plain_value
from controlplane.engine.model import now
from controlplane.engine.ports import KvType
from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.engine.variables import merged_maps
from controlplane.spec.durations import format_duration, parse_duration
from controlplane.spec.plugins.core import KvDelete, KvGet, KvGetKeys, KvPut, KvSet
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


@runs(KvPut)
def run_put(task: KvPut, ctx: RunContext) -> None:
    namespace = _namespace(ctx, task.namespace)
    key = props.text(ctx, task.key)
    given = ctx.render_typed(task.value)
    current = ctx.kv_get(namespace, key)
    if current is None and props.boolean(ctx, task.errorOnMissing):
        raise TaskFailed(
            f"No value found for key '{key}' in namespace '{namespace}' and `errorOnMissing` "
            "is set to `true`"
        )
    value = _put(current.value if current is not None else None, given)
    ttl = None
    if current is not None and current.expires is not None:
        ttl = max((current.expires - now()).total_seconds(), 0.001)
    ctx.kv_set(namespace, key, coerce(value, _inferred(value), key), _inferred(value), ttl)


def _put(existing: Any, given: Any) -> Any:
    """What kv.Put stores over ``existing``."""
    entries = given if isinstance(given, list) and given else None
    if entries is not None and all(
        isinstance(e, dict) and "value" in e and set(e) <= {"key", "value"} for e in entries
    ):
        if any("key" not in entry for entry in entries):
            if len(entries) > 1:
                raise TaskFailed("`value` entries without `key` can only be used alone")
            return entries[0]["value"]
        updates = _nested({str(entry["key"]): entry["value"] for entry in entries})
        if existing is None:
            return updates
        if not isinstance(existing, dict):
            raise TaskFailed("keyed `value` entries update a JSON map, and the stored value is not")
        return merged_maps(existing, updates)
    if isinstance(existing, dict) and isinstance(given, dict):
        return merged_maps(existing, given)
    return given


def _nested(updates: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1}`` as ``{"a": {"b": 1}}``."""
    nested: dict[str, Any] = {}
    for path, value in updates.items():
        *parents, last = path.split(".")
        node = nested
        for name in parents:
            node = node.setdefault(name, {})
        node[last] = value
    return nested


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
