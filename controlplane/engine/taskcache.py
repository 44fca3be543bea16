"""Kestra's ``taskCache``: a runnable task's outputs kept for ``ttl`` and given back, without
running the task, to the next run of the same task with the same definition and inputs.

The key is a hash of the flow, the task's definition as written (plugin defaults merged), the
execution's inputs and the task run's loop value. Files the outputs name (``kestra:///`` URIs)
are copied into the cache beside them, and copied back into the task run that reuses them, so
that every execution reads only its own files. Only a SUCCESS is cached.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from controlplane.engine.runnable import RunContext
from controlplane.spec.tasks import TaskSpec

DEFAULT_TTL = timedelta(days=1)

Runner = Callable[[Any, RunContext], Mapping[str, Any] | None]


def run_cached(runner: Runner, task: TaskSpec, ctx: RunContext) -> Mapping[str, Any] | None:
    """Run ``task``, or answer its cached outputs when ``taskCache`` is on and they are fresh."""
    cache = task.taskCache
    if cache is None or not cache.enabled:
        return runner(task, ctx)
    key = cache_key(task, ctx)
    hit = ctx.control.read_task_cache(ctx.namespace, ctx.flow_id, task.id, key)
    if hit is not None:
        ctx.info(f"Outputs taken from the task cache (key {key[:12]}), the task did not run")
        restored: dict[str, Any] = _restore(ctx, hit)
        return restored
    outputs = dict(runner(task, ctx) or {})
    ttl = cache.ttl if cache.ttl is not None else DEFAULT_TTL
    expires = datetime.now(UTC) + ttl
    ctx.control.write_task_cache(ctx.namespace, ctx.flow_id, task.id, key, outputs, expires)
    return outputs


def cache_key(task: TaskSpec, ctx: RunContext) -> str:
    variables = ctx.variables()
    taskrun = variables.get("taskrun") or {}
    material = {
        "flow": [ctx.namespace, ctx.flow_id],
        "task": task.model_dump(mode="json", by_alias=True, exclude={"taskCache"}),
        "inputs": variables.get("inputs") or {},
        "value": taskrun.get("value") if isinstance(taskrun, Mapping) else None,
    }
    text = json.dumps(material, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _restore(ctx: RunContext, cached: Any) -> Any:
    """The cached outputs with each cached file copied into this task run."""
    if isinstance(cached, dict) and set(cached) == {"$cachedFile", "name"}:
        with ctx.control.open_cached_file(str(cached["$cachedFile"])) as stream:
            return ctx.put_file(posixpath.basename(str(cached["name"])), stream.read())
    if isinstance(cached, dict):
        return {key: _restore(ctx, value) for key, value in cached.items()}
    if isinstance(cached, list):
        return [_restore(ctx, value) for value in cached]
    return cached
