"""What a plugin package uses to add task, trigger and condition types to Weir.

A plugin is a Python package with an entry point in the group ``weir.plugins`` naming a module;
Weir imports that module when it loads its types. The module declares each type's properties
with :func:`task`, :func:`trigger` or :func:`condition` on a model, and how it runs with
:func:`runs` (tasks) or :func:`checks` (conditions). See docs/plugins.md for a worked example.

Everything a plugin may rely on is named here; the rest of ``controlplane`` may change.
"""

from __future__ import annotations

from controlplane.engine.conditions import checks
from controlplane.engine.runnable import RunContext, TaskFailed, TaskKilled, runs
from controlplane.spec.fields import (
    DynBool,
    DynDuration,
    DynFloat,
    DynInt,
    DynList,
    DynMap,
    DynStrList,
    Spec,
    Text,
)
from controlplane.spec.registry import condition, task, trigger
from controlplane.spec.tasks import TaskSpec
from controlplane.tasks import props

__all__ = [
    "DynBool",
    "DynDuration",
    "DynFloat",
    "DynInt",
    "DynList",
    "DynMap",
    "DynStrList",
    "RunContext",
    "Spec",
    "TaskFailed",
    "TaskKilled",
    "TaskSpec",
    "Text",
    "checks",
    "condition",
    "props",
    "runs",
    "task",
    "trigger",
]
