"""Core runnable tasks: Log, Return, Echo, OutputValues, Labels, Fail, Assert, Sleep, Purge."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, TaskKilled, runs
from controlplane.spec.plugins.core import (
    Assert,
    Echo,
    Fail,
    Log,
    OutputValues,
    PurgeCurrentExecutionFiles,
    Return,
    SetLabels,
    Sleep,
)
from controlplane.tasks import props


@runs(Log)
def run_log(task: Log, ctx: RunContext) -> None:
    messages = task.message if isinstance(task.message, list) else [task.message]
    for message in messages:
        ctx.log(task.level, props.text(ctx, message))


@runs(Return)
def run_return(task: Return, ctx: RunContext) -> dict[str, Any]:
    return {"value": props.optional_text(ctx, task.format)}


@runs(Echo)
def run_echo(task: Echo, ctx: RunContext) -> None:
    ctx.log(task.level, props.text(ctx, task.format))


@runs(OutputValues)
def run_output_values(task: OutputValues, ctx: RunContext) -> dict[str, Any]:
    # Rendered as text, as Kestra 0.21 does: `count: "{{ n + 1 }}"` gives the string "4".
    return {"values": ctx.render(task.values)}


@runs(SetLabels)
def run_set_labels(task: SetLabels, ctx: RunContext) -> None:
    labels: Any = task.labels
    if isinstance(labels, str):
        rendered = ctx.render_typed(labels)
        try:
            labels = json.loads(rendered) if isinstance(rendered, str) else rendered
        except ValueError:
            raise TaskFailed(
                f"'labels' must be a map or a list of key/value, got {rendered!r}"
            ) from None
    ctx.set_labels(_label_map(ctx, labels))


def _label_map(ctx: RunContext, labels: Any) -> dict[str, str]:
    if isinstance(labels, list):
        pairs = []
        for index, item in enumerate(labels):
            if not isinstance(item, Mapping) or "key" not in item or "value" not in item:
                raise TaskFailed(f"label {index} must be a mapping with 'key' and 'value'")
            pairs.append((item["key"], item["value"]))
        labels = dict(pairs)
    if not isinstance(labels, Mapping):
        raise TaskFailed(f"'labels' must be a map or a list of key/value, got {labels!r}")
    result: dict[str, str] = {}
    for key, value in labels.items():
        name = props.text(ctx, str(key))
        rendered = ctx.render(value) if isinstance(value, str) else value
        result[name] = rendered if isinstance(rendered, str) else json.dumps(rendered)
        if not name or not result[name]:
            raise TaskFailed(f"label '{key}' needs a non-empty key and value")
    return result


@runs(Fail)
def run_fail(task: Fail, ctx: RunContext) -> None:
    if task.condition is not None and not props.boolean(ctx, task.condition):
        return
    raise TaskFailed(props.text(ctx, task.errorMessage))


@runs(Assert)
def run_assert(task: Assert, ctx: RunContext) -> None:
    failed = [condition for condition in task.conditions if not props.boolean(ctx, condition)]
    for condition in failed:
        ctx.error(f"Assertion `{condition}` failed!")
    if failed:
        message = props.optional_text(ctx, task.errorMessage)
        raise TaskFailed(message or f"{len(failed)} assertion(s) failed: `{failed[0]}`")


@runs(Sleep)
def run_sleep(task: Sleep, ctx: RunContext) -> None:
    seconds = props.duration(ctx, task.duration, "duration").total_seconds()
    if ctx.cancelled.wait(max(seconds, 0)):
        raise TaskKilled("stopped while sleeping")


@runs(PurgeCurrentExecutionFiles)
def run_purge(task: PurgeCurrentExecutionFiles, ctx: RunContext) -> dict[str, Any]:
    return {"uris": ctx.purge_execution_files()}
