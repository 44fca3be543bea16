"""Which plugin types a flow document uses, read from the raw YAML data (no validation).

Used to measure compatibility over a corpus of flows: which types a flow needs, and which of
them Weir does not register.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from controlplane.spec.registry import Kind, registry

_TASK_LISTS = {"tasks", "errors", "finally", "afterExecution", "then", "else", "defaults", "task"}
_NOT_PLUGINS = {"inputs", "outputs", "onResume", "retry", "sla", "checks", "extend",
                "pluginDefaults", "taskDefaults", "variables", "labels"}  # fmt: skip


def used_types(node: Any, kind: Kind | None = Kind.TASK) -> Iterator[tuple[Kind, str]]:
    """Plugin types by position (task, trigger, condition, task runner), in document order."""
    if isinstance(node, list):
        for item in node:
            yield from used_types(item, kind)
        return
    if not isinstance(node, dict):
        return
    if kind is not None and isinstance(node.get("type"), str):
        yield kind, node["type"]
    for key, value in node.items():
        if key in _NOT_PLUGINS:
            continue
        if key == "triggers":
            yield from used_types(value, Kind.TRIGGER)
        elif key in ("conditions", "scheduleConditions"):
            items = value.values() if isinstance(value, dict) else value
            yield from used_types(list(items), Kind.CONDITION)
        elif key == "taskRunner":
            yield from used_types(value, Kind.RUNNER)
        elif key in _TASK_LISTS:
            yield from used_types(value, Kind.TASK)
        elif key == "cases" and isinstance(value, dict):
            yield from used_types(list(value.values()), Kind.TASK)
        elif isinstance(value, dict | list):
            yield from used_types(value, None)


def missing_types(document: Any) -> set[str]:
    """The types a flow document uses that Weir does not register."""
    return {name for kind, name in used_types(document) if registry.resolve(kind, name) is None}
