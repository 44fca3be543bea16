"""Kestra's deprecated state store (``state.Set``/``Get``/``Delete``): a named map of values
kept per flow (or per namespace with ``namespace: true``) and, with ``taskrunValue`` (the
default), per loop value. Weir keeps each map as a JSON pair of the namespace's KV store,
under ``states.<flow>.<name>[.<value>]``, which is where Kestra tells users to move them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.admin import StateDelete, StateGet, StateSet, _State
from controlplane.tasks import props

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def _part(text: str) -> str:
    clean = _UNSAFE.sub("_", text)
    return clean if clean == text else f"{clean}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def state_key(task: _State, ctx: RunContext) -> str:
    parts = ["states", "_namespace" if task.namespace else ctx.flow_id, props.text(ctx, task.name)]
    taskrun = ctx.variables().get("taskrun") or {}
    value = taskrun.get("value") if isinstance(taskrun, Mapping) else None
    if props.boolean(ctx, task.taskrunValue) and value is not None:
        parts.append(str(value))
    return ".".join(_part(part) for part in parts)


def _read(ctx: RunContext, key: str) -> dict[str, Any] | None:
    entry = ctx.kv_get(ctx.namespace, key)
    if entry is None:
        return None
    return dict(entry.value) if isinstance(entry.value, Mapping) else {}


@runs(StateSet)
def run_state_set(task: StateSet, ctx: RunContext) -> dict[str, Any]:
    key = state_key(task, ctx)
    data = props.mapping(ctx, task.data, "data") if isinstance(task.data, str) else task.data
    merged = {**(_read(ctx, key) or {}), **ctx.render(data)}
    ctx.kv_set(ctx.namespace, key, merged, "JSON", None)
    return {"count": len(merged), "key": key}


@runs(StateGet)
def run_state_get(task: StateGet, ctx: RunContext) -> dict[str, Any]:
    key = state_key(task, ctx)
    data = _read(ctx, key)
    if data is None and props.boolean(ctx, task.errorOnMissing):
        raise TaskFailed(f"the state '{props.text(ctx, task.name)}' does not exist")
    return {"count": len(data or {}), "data": data or {}}


@runs(StateDelete)
def run_state_delete(task: StateDelete, ctx: RunContext) -> dict[str, Any]:
    key = state_key(task, ctx)
    deleted = ctx.kv_delete(ctx.namespace, key)
    if not deleted and props.boolean(ctx, task.errorOnMissing):
        raise TaskFailed(f"the state '{props.text(ctx, task.name)}' does not exist")
    return {"deleted": deleted}
