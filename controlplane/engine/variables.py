"""The expression context of a task run, as Kestra builds it.

``outputs.<taskId>`` holds a task's outputs; inside loops the outputs are keyed by the loop
values from the outermost loop in: ``outputs.t[v1][v2]``. ``taskrun.value`` is the value of the
innermost loop iteration, ``parent`` / ``parents`` describe the enclosing loop iterations.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from controlplane.engine.model import Execution, TaskRun
from controlplane.spec.flow import Flow
from controlplane.spec.plugins.loop import LOOP_TYPE, Loop
from controlplane.spec.tasks import TaskSpec

LOOP_TYPES = frozenset(
    {
        "io.kestra.plugin.core.flow.ForEach",
        "io.kestra.plugin.core.flow.EachSequential",
        "io.kestra.plugin.core.flow.EachParallel",
        LOOP_TYPE,
    }
)


class Lineage:
    """Parent links and loop values of an execution's task runs, computed once per step."""

    def __init__(self, execution: Execution, tasks: Mapping[str, TaskSpec]) -> None:
        self.runs = {run.id: run for run in execution.task_runs}
        self.tasks = tasks

    def is_loop(self, run: TaskRun | None) -> bool:
        if run is None:
            return False
        task = self.tasks.get(run.task_id)
        return task is not None and task.type in LOOP_TYPES

    def parent(self, run: TaskRun) -> TaskRun | None:
        return self.runs.get(run.parent_id) if run.parent_id else None

    def loop_values(self, run: TaskRun) -> list[str]:
        """Values of the loop iterations that enclose ``run``, outermost first."""
        values: list[str] = []
        node: TaskRun | None = run
        while node is not None:
            parent = self.parent(node)
            if self.is_loop(parent) and node.value is not None:
                values.append(node.value)
            node = parent
        values.reverse()
        return values


def outputs_tree(execution: Execution, lineage: Lineage) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for run in execution.task_runs:
        if not run.outputs:
            continue
        if run.parent_id is None:  # a top-level run: no loop encloses it
            tree[run.task_id] = run.outputs
            continue
        values = lineage.loop_values(run)
        if not values:
            tree[run.task_id] = run.outputs
            continue
        node = tree.setdefault(run.task_id, {})
        for value in values[:-1]:
            node = node.setdefault(value, {})
        node[values[-1]] = run.outputs
    return tree


def base_variables(
    execution: Execution,
    flow: Flow,
    outputs: Mapping[str, Any],
    envs: Mapping[str, str],
    globals_: Mapping[str, Any],
) -> dict[str, Any]:
    """What every expression of the execution sees, before task-specific entries."""
    variables: dict[str, Any] = {
        "flow": {
            "id": flow.id,
            "namespace": flow.namespace,
            "revision": execution.flow_revision,
            "tenantId": None,
        },
        "execution": {
            "id": execution.id,
            "startDate": _iso(execution.started),
            "state": execution.state.value,
            "originalId": execution.original_id or execution.id,
        },
        "inputs": execution.inputs,
        "vars": merged_maps(flow.variables, execution.variables)
        if execution.variables
        else flow.variables,
        "outputs": outputs,
        "labels": nest_dotted(execution.labels),
        "envs": envs,
        "globals": globals_,
    }
    if execution.trigger is not None:
        variables["trigger"] = execution.trigger
    if execution.scheduled is not None:
        variables["execution"]["scheduleDate"] = _iso(execution.scheduled)
    return variables


def task_variables(
    base: Mapping[str, Any], task: TaskSpec, run: TaskRun, lineage: Lineage
) -> dict[str, Any]:
    """The context of one task run: the base plus ``task``, ``taskrun``, ``parent(s)``."""
    variables = dict(base)
    variables["task"] = {"id": task.id, "type": task.type}
    variables["taskrun"] = {
        "id": run.id,
        "startDate": _iso(run.started),
        "attemptsCount": len(run.attempts),
        "parentId": run.parent_id,
        "value": run.value,
        "iteration": run.iteration,
    }
    parents = _parents(run, lineage)
    if parents:
        variables["parents"] = parents
        variables["parent"] = parents[0]
    item = _item(run, lineage)
    if item is not None:
        variables["item"] = item
    return variables


def _item(run: TaskRun, lineage: Lineage) -> dict[str, Any] | None:
    """The iteration of the nearest enclosing ``flow.Loop``, as its ``item`` variable."""
    node: TaskRun | None = run
    while node is not None:
        parent = lineage.parent(node)
        task = lineage.tasks.get(parent.task_id) if parent is not None else None
        if isinstance(task, Loop):
            item: dict[str, Any] = {"value": node.value, "index": node.iteration}
            if isinstance(task.values, dict) and node.value is not None:
                pair = json.loads(node.value)
                item.update(key=pair["key"], value=pair["value"])
            return item
        node = parent
    return None


def _parents(run: TaskRun, lineage: Lineage) -> list[dict[str, Any]]:
    """The enclosing task runs, innermost first: their loop value and outputs."""
    parents: list[dict[str, Any]] = []
    node = lineage.parent(run)
    while node is not None:
        entry: dict[str, Any] = {"taskrun": {"value": node.value}}
        if node.outputs:
            entry["outputs"] = node.outputs
        parents.append(entry)
        node = lineage.parent(node)
    return parents


def environment_variables(
    environ: Mapping[str, str] | None = None, prefix: str = "ENV_"
) -> dict[str, str]:
    """``envs.<name>``: environment variables named ``ENV_<NAME>``, lower-cased, as Kestra does."""
    source = os.environ if environ is None else environ
    return {k[len(prefix) :].lower(): v for k, v in source.items() if k.startswith(prefix)}


def _iso(moment: Any) -> str:
    text: str = moment.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def nest_dotted(values: Mapping[str, Any]) -> dict[str, Any]:
    """A dotted key (``nested.string``, ``system.correlationId``) is also reachable as a path."""
    nested: dict[str, Any] = {}
    for key, value in values.items():
        nested[key] = value
        if "." in key:
            node = nested
            *parents, last = key.split(".")
            for part in parents:
                existing = node.get(part)
                if not isinstance(existing, dict):
                    existing = {}
                    node[part] = existing
                node = existing
            node[last] = value
    return nested


def change_variables(own: dict[str, Any], values: Mapping[str, Any], unset: list[str]) -> None:
    """An execution's own variables after a task set ``values`` (nested maps merged, not
    replaced) and removed the dotted paths of ``unset``."""
    merged = merged_maps(own, values)
    own.clear()
    own.update(merged)
    for path in unset:
        *parents, last = path.split(".")
        node: Any = own
        for name in parents:
            node = node.get(name) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)


def merged_maps(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on a copy of ``base``, nested maps merged."""
    merged = dict(base)
    for key, value in over.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = merged_maps(current, value)
        else:
            merged[key] = value
    return merged
