"""The runnable parts of ``flow.ForEachItem``: cutting the items into batch files, and merging
the outputs of the subflow executions (see ``controlplane.spec.plugins.foreachitem``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controlplane.engine.runnable import RunContext, runs
from controlplane.spec.plugins.foreachitem import ForEachItemMerge, ForEachItemSplit
from controlplane.tasks import props
from controlplane.tasks.ion import to_ion
from controlplane.tasks.storage import byte_size, chunk_lines, read_bytes


@runs(ForEachItemSplit)
def run_split(task: ForEachItemSplit, ctx: RunContext) -> dict[str, Any]:
    batch = task.batch
    separator = props.text(ctx, batch.separator)
    text = read_bytes(ctx, props.text(ctx, task.items)).decode("utf-8")
    lines = [line + separator for line in text.split(separator)]
    if lines and lines[-1] == separator:
        lines.pop()
    rows = props.integer(ctx, batch.rows, "batch.rows") if batch.rows is not None else None
    parts = None if batch.partitions is None else props.integer(ctx, batch.partitions, "partitions")
    limit = byte_size(props.text(ctx, batch.bytes)) if batch.bytes is not None else None
    if rows is None and parts is None and limit is None:
        rows = 1  # Kestra's default batch: one item per subflow execution
    chunks = [c for c in chunk_lines(lines, rows, parts, limit) if c]
    splits = [ctx.put_file(f"{i}.txt", "".join(c).encode()) for i, c in enumerate(chunks)]
    ctx.info(f"Cut {len(lines)} item(s) into {len(splits)} batch(es)")
    return {"splits": splits, "numberOfBatches": len(splits)}


@runs(ForEachItemMerge)
def run_merge(task: ForEachItemMerge, ctx: RunContext) -> dict[str, Any]:
    calls = (ctx.variables().get("outputs") or {}).get(task.calls) or {}
    lines = []
    states: dict[str, int] = {}
    for value in calls.values() if isinstance(calls, Mapping) else []:
        if not isinstance(value, Mapping):
            continue
        states[str(value.get("state"))] = states.get(str(value.get("state")), 0) + 1
        lines.append(to_ion(value.get("outputs") or {}))
    body = "".join(line + "\n" for line in lines).encode()
    return {"subflowOutputs": ctx.put_file("outputs.ion", body), "iterations": states}
