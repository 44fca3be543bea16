"""What a decision step is given besides the execution: the flow's plan and its environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controlplane.expr import Renderer
from controlplane.spec.flow import Flow
from controlplane.spec.tasks import TaskSpec


@dataclass(frozen=True)
class StepEnv:
    """What a step needs besides the execution: rendering and where working directories live."""

    renderer: Renderer
    work_root: Path
    envs: Mapping[str, str] = field(default_factory=dict)
    globals: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FlowPlan:
    """Every task of a flow by id, and the id of the flowable that holds it: built once."""

    tasks: dict[str, TaskSpec]
    parent_task: dict[str, str]

    @classmethod
    def of(cls, flow: Flow) -> FlowPlan:
        tasks: dict[str, TaskSpec] = {}
        parent_task: dict[str, str] = {}
        for _, task in flow.all_tasks():
            tasks[task.id] = task
            for _, child in task.children():
                parent_task[child.id] = task.id
        return cls(tasks, parent_task)
