"""Redis strings and lists with redis-py. Values are text (``serdeType: STRING``) or JSON texts
(``serdeType: JSON``); ListPop writes what it pops to an Ion file, one value a line."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import redis

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.redis import (
    RedisDelete,
    RedisGet,
    RedisListPop,
    RedisListPush,
    RedisSet,
    _Redis,
)
from controlplane.tasks import props
from controlplane.tasks.ion import to_ion
from controlplane.tasks.ion_text import read_values

_BATCH = 500


def _client(task: _Redis, ctx: RunContext) -> redis.Redis:
    url = props.text(ctx, task.url)
    try:
        return redis.Redis.from_url(url, decode_responses=True, socket_timeout=60)
    except ValueError as exc:
        raise TaskFailed(f"'url' is not a Redis URL: {exc}") from None


class _Failing:
    """Redis errors as task failures, without the URL (it may hold a password)."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
            raise TaskFailed(f"Redis could not be reached: {type(exc).__name__}") from None
        if isinstance(exc, redis.RedisError):
            raise TaskFailed(f"Redis refused the command: {exc}") from None


def _serialize(value: Any, serde: str) -> str:
    if serde == "JSON":
        return json.dumps(value)
    return value if isinstance(value, str) else json.dumps(value)


def _deserialize(value: Any, serde: str) -> Any:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str) or serde != "JSON":
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise TaskFailed(f"the value is not JSON: {value[:80]!r}") from None


@runs(RedisSet)
def run_redis_set(task: RedisSet, ctx: RunContext) -> dict[str, Any]:
    key = props.text(ctx, task.key)
    if isinstance(task.value, str):
        json_value = task.serdeType == "JSON"
        value = ctx.render_typed(task.value) if json_value else props.text(ctx, task.value)
    else:
        value = ctx.render(task.value)
    options = task.options
    arguments: dict[str, Any] = {
        "nx": props.boolean(ctx, options.mustNotExist),
        "xx": props.boolean(ctx, options.mustExist),
        "keepttl": props.boolean(ctx, options.keepTtl),
        "get": props.boolean(ctx, task.get),
    }
    if options.expirationDuration is not None:
        duration = props.duration(ctx, options.expirationDuration, "options.expirationDuration")
        arguments["px"] = int(duration.total_seconds() * 1000)
    if options.expirationDate is not None:
        when = options.expirationDate
        if isinstance(when, str):
            try:
                when = datetime.fromisoformat(props.text(ctx, when).replace("Z", "+00:00"))
            except ValueError:
                raise TaskFailed("'options.expirationDate' is not an ISO-8601 date-time") from None
        arguments["pxat"] = int(when.timestamp() * 1000)
    with _Failing():
        old = _client(task, ctx).set(key, _serialize(value, task.serdeType), **arguments)
    if not arguments["get"] and old is None and (arguments["nx"] or arguments["xx"]):
        ctx.info(f"'{key}' was not set: its existence did not match mustExist / mustNotExist")
    outputs: dict[str, Any] = {}
    if arguments["get"]:
        outputs["oldValue"] = _deserialize(old, task.serdeType)
    return outputs


@runs(RedisGet)
def run_redis_get(task: RedisGet, ctx: RunContext) -> dict[str, Any]:
    key = props.text(ctx, task.key)
    with _Failing():
        data = _client(task, ctx).get(key)
    if data is None and props.boolean(ctx, task.failedOnMissing):
        raise TaskFailed(f"the key '{key}' does not exist")
    return {"data": _deserialize(data, task.serdeType), "key": key}


@runs(RedisDelete)
def run_redis_delete(task: RedisDelete, ctx: RunContext) -> dict[str, Any]:
    keys = props.string_list(ctx, task.keys, "keys")
    with _Failing():
        count = int(_client(task, ctx).delete(*keys)) if keys else 0
    ctx.metric("deleted.records.count", count)
    if count != len(keys) and props.boolean(ctx, task.failedOnMissing):
        raise TaskFailed(f"missing keys: only {count} of {len(keys)} deleted")
    return {"count": count}


def _values(task: RedisListPush, ctx: RunContext) -> Iterator[Any]:
    if isinstance(task.from_, list):
        yield from ctx.render(task.from_)
        return
    uri = props.text(ctx, task.from_).strip()
    if not uri.startswith("kestra://"):
        raise TaskFailed("'from' must be a list, or an internal storage URI (kestra://...)")
    with ctx.open_file(uri) as stream:
        yield from read_values(stream.read().decode("utf-8"))


@runs(RedisListPush)
def run_redis_list_push(task: RedisListPush, ctx: RunContext) -> dict[str, Any]:
    key = props.text(ctx, task.key)
    values = [_serialize(value, task.serdeType) for value in _values(task, ctx)]
    client = _client(task, ctx)
    with _Failing():
        for start in range(0, len(values), _BATCH):
            client.lpush(key, *values[start : start + _BATCH])
    return {"count": len(values)}


@runs(RedisListPop)
def run_redis_list_pop(task: RedisListPop, ctx: RunContext) -> dict[str, Any]:
    key = props.text(ctx, task.key)
    batch = props.integer(ctx, task.count, "count")
    limit = props.integer(ctx, task.maxRecords, "maxRecords") if task.maxRecords else None
    duration = task.maxDuration
    deadline = (
        time.monotonic() + props.duration(ctx, duration, "maxDuration").total_seconds()
        if duration is not None
        else None
    )
    client = _client(task, ctx)
    lines: list[str] = []
    with _Failing():
        while limit is None or len(lines) < limit:
            wanted = batch if limit is None else min(batch, limit - len(lines))
            popped = client.lpop(key, wanted)
            if not popped:
                break
            lines += [to_ion(_deserialize(value, task.serdeType)) for value in popped]
            if deadline is not None and time.monotonic() > deadline:
                break
    ctx.metric("popped.records.count", len(lines), key=key)
    data = "".join(line + "\n" for line in lines).encode()
    return {"uri": ctx.put_file("popped.ion", data), "count": len(lines)}
