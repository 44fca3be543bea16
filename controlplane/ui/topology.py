"""A flow's topology read from its YAML: tasks, flowable nesting, Dag edges, errors and finally
branches, and the subflows it calls.

It is read from the source as a mapping, not from the validated model, so that a flow saved
under older rules still draws, and so that every flowable's branches are found by the names
Kestra gives them (``tasks``, ``then``/``else``, ``cases``/``defaults``, ``errors``,
``finally``) without knowing each task type.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

SUBFLOW_TYPES = frozenset(
    {
        "io.kestra.plugin.core.flow.Subflow",
        "io.kestra.core.tasks.flows.Subflow",
        "io.kestra.core.tasks.flows.Flow",
        "io.kestra.plugin.core.flow.ForEachItem",
        "io.kestra.core.tasks.flows.ForEachItem",
    }
)
DAG_TYPES = frozenset({"io.kestra.plugin.core.flow.Dag", "io.kestra.core.tasks.flows.Dag"})
BRANCH_KEYS = ("tasks", "then", "else", "defaults", "errors", "finally")
FLOW_BRANCHES = (("tasks", "tasks"), ("errors", "errors"), ("finally", "finally"))


@dataclass
class Branch:
    label: str
    nodes: list[Node]


@dataclass
class Node:
    id: str
    type: str
    branches: list[Branch] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    subflow: tuple[str, str] | None = None
    """(namespace, flow id) of the flow it calls; None for any other task."""

    @property
    def short_type(self) -> str:
        return self.type.rsplit(".", 1)[-1]

    @property
    def flowable(self) -> bool:
        return bool(self.branches)


def load(source: str) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(source, Loader=loader)  # a safe loader: CSafeLoader or SafeLoader
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def topology(data: dict[str, Any]) -> list[Branch]:
    """The flow's top branches (tasks, errors, finally, afterExecution), those that hold any."""
    branches = [Branch(label, _nodes(data.get(key))) for key, label in FLOW_BRANCHES]
    branches.append(Branch("after execution", _nodes(data.get("afterExecution"))))
    return [branch for branch in branches if branch.nodes]


def walk(branches: list[Branch]) -> Iterator[Node]:
    for branch in branches:
        for node in branch.nodes:
            yield node
            yield from walk(node.branches)


def callees(branches: list[Branch]) -> list[tuple[str, str]]:
    """The flows called by the Subflow tasks, in order, each once."""
    found: dict[tuple[str, str], None] = {}
    for node in walk(branches):
        if node.subflow is not None:
            found[node.subflow] = None
    return list(found)


def _nodes(value: Any) -> list[Node]:
    if not isinstance(value, list):
        return []
    return [_node(item) for item in value if isinstance(item, dict)]


def _node(task: dict[str, Any]) -> Node:
    kind = str(task.get("type", ""))
    node = Node(id=str(task.get("id", "?")), type=kind)
    if kind in SUBFLOW_TYPES and isinstance(task.get("flowId"), str):
        node.subflow = (str(task.get("namespace", "")), task["flowId"])
    if kind in DAG_TYPES:
        node.branches.append(Branch("dag", _dag(task.get("tasks"))))
    for key in BRANCH_KEYS:
        if key == "tasks" and kind in DAG_TYPES:
            continue
        nodes = _nodes(task.get(key))
        if nodes:
            node.branches.append(Branch(key, nodes))
    cases = task.get("cases")
    if isinstance(cases, dict):
        for case, value in cases.items():
            node.branches.append(Branch(f"case {case}", _nodes(value)))
    return node


def _dag(value: Any) -> list[Node]:
    nodes = []
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("task"), dict):
            continue
        node = _node(item["task"])
        depends = item.get("dependsOn")
        node.depends_on = [str(d) for d in depends] if isinstance(depends, list) else []
        nodes.append(node)
    return nodes
