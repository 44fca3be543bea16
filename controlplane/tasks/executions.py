"""Core tasks that act on executions: their variables, a count of them, a resume, a kill.

What a task changes of executions is applied by the executor in the step that takes the task's
result, and only when the task succeeded: variables are merged into the execution's own
(``vars`` shows them over the flow's), a resume or a kill of another execution is delivered once
that step commits, and a kill of this execution stops it before anything else starts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from controlplane.engine.attempt_functions import default_renderer
from controlplane.engine.model import State
from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.expr import is_truthy
from controlplane.spec.plugins.executions import (
    Count,
    Kill,
    Resume,
    SetVariables,
    Toggle,
    UnsetVariables,
)
from controlplane.tasks import props


@runs(SetVariables)
def run_set_variables(task: SetVariables, ctx: RunContext) -> None:
    values = props.mapping(ctx, task.variables, "variables")
    if not props.boolean(ctx, task.overwrite):
        current = ctx.variables().get("vars") or {}
        taken = sorted(name for name in values if name in current)
        if taken:
            raise TaskFailed(
                f"variable{'s' if len(taken) > 1 else ''} {', '.join(map(repr, taken))} "
                "already set, and 'overwrite' is false"
            )
    ctx.set_variables(values)


def _has_path(variables: Any, path: str) -> bool:
    for name in path.split("."):
        if not isinstance(variables, dict) or name not in variables:
            return False
        variables = variables[name]
    return True


@runs(UnsetVariables)
def run_unset_variables(task: UnsetVariables, ctx: RunContext) -> None:
    paths = props.string_list(ctx, task.variables, "variables")
    execution = ctx.read_execution()
    own = execution.variables if execution is not None else {}
    missing = [path for path in paths if not _has_path(own, path)]
    if missing and not props.boolean(ctx, task.ignoreMissing):
        raise TaskFailed(
            f"no execution variable {', '.join(map(repr, missing))} to unset (a variable the "
            "flow declares cannot be unset); set 'ignoreMissing: true' to skip missing ones"
        )
    ctx.set_variables({}, [path for path in paths if path not in missing])


def _instant(ctx: RunContext, value: str | None, name: str) -> datetime | None:
    text = props.optional_text(ctx, value)
    if not text or not text.strip():
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise TaskFailed(f"'{name}' must be an ISO-8601 date-time, got '{text}'") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@runs(Count)
def run_count(task: Count, ctx: RunContext) -> dict[str, Any]:
    if task.flows is None and task.namespaces is None:
        raise TaskFailed("Count needs 'flows' or 'namespaces' to count the executions of")
    flows = [(flow.namespace, flow.flowId) for flow in task.flows or ()]
    namespaces = props.string_list(ctx, task.namespaces, "namespaces")
    counts = ctx.control.count_executions(
        namespaces,
        flows,
        [State(name) for name in task.states] if task.states else None,
        _instant(ctx, task.startDate, "startDate"),
        _instant(ctx, task.endDate, "endDate"),
    )
    for flow in flows:  # a listed flow without executions counts 0: the inactivity alert
        counts.setdefault(flow, 0)
    results = []
    for (namespace, flow_id), count in sorted(counts.items()):
        scope = {**ctx.variables(), "count": count}
        if is_truthy(default_renderer().render_typed(task.expression, scope)):
            results.append({"namespace": namespace, "flowId": flow_id, "count": count})
    return {"results": results, "total": sum(item["count"] for item in results)}


@runs(Resume)
def run_resume(task: Resume, ctx: RunContext) -> None:
    execution_id = props.optional_text(ctx, task.executionId) or ctx.execution_id
    target = ctx.read_execution(execution_id)  # refused when its namespace is out of reach
    if target is None:
        raise TaskFailed(f"no execution '{execution_id}' to resume")
    for name, given, actual in (
        ("namespace", props.optional_text(ctx, task.namespace), target.namespace),
        ("flowId", props.optional_text(ctx, task.flowId), target.flow_id),
    ):
        if given is not None and given != actual:
            raise TaskFailed(f"execution '{execution_id}' has {name} '{actual}', not '{given}'")
    if target.state is not State.PAUSED:
        raise TaskFailed(f"execution '{execution_id}' is {target.state.value}, not PAUSED")
    inputs = props.mapping(ctx, task.inputs, "inputs") if task.inputs is not None else {}
    ctx.send("resume", target.id, inputs)
    resumed = {"id": target.id, "namespace": target.namespace, "flowId": target.flow_id}
    ctx.set_variables({"resumedExecution": resumed})


@runs(Kill)
def run_kill(task: Kill, ctx: RunContext) -> None:
    if props.boolean(ctx, task.propagateKill):
        execution = ctx.read_execution()
        for run in execution.task_runs if execution is not None else ():
            child = run.outputs.get("executionId")
            if isinstance(child, str) and child != ctx.execution_id:
                found = ctx.read_execution(child)
                if found is not None and not found.state.terminal:
                    ctx.send("kill", child)
    ctx.send("kill", ctx.execution_id)


@runs(Toggle)
def run_toggle(task: Toggle, ctx: RunContext) -> None:
    namespace = props.optional_text(ctx, task.namespace) or ctx.namespace
    flow_id = props.optional_text(ctx, task.flowId) or ctx.flow_id
    trigger_id = props.text(ctx, task.trigger)
    ctx.control.toggle_trigger(namespace, flow_id, trigger_id, task.enabled)
    ctx.info(
        f"trigger {trigger_id} of {namespace}/{flow_id} {'enabled' if task.enabled else 'disabled'}"
    )
