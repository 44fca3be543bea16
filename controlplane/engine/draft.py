"""An execution under decision, in memory: its runs by key, what changed, its expression context.

A :class:`~controlplane.engine.executor.Step` decides on a draft; the engine persists the
execution and the runs the draft marks changed or removed, then acts on its effects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controlplane.engine.effects import Effects
from controlplane.engine.model import Execution, TaskRun, now
from controlplane.engine.plan import FlowPlan, StepEnv
from controlplane.engine.ports import LogEntry, LogLevel
from controlplane.engine.variables import Lineage, base_variables, outputs_tree, task_variables
from controlplane.spec.flow import Flow
from controlplane.spec.tasks import TaskSpec


class Draft:
    def __init__(
        self, execution: Execution, flow: Flow, env: StepEnv, plan: FlowPlan | None = None
    ) -> None:
        self.ex = execution
        self.flow = flow
        self.env = env
        plan = plan or FlowPlan.of(flow)
        self.tasks = plan.tasks
        self.parent_task = plan.parent_task
        self.index = {(r.task_id, r.parent_id, r.value): r for r in execution.task_runs}
        self.changed: dict[str, TaskRun] = {}
        self.removed: set[str] = set()
        self.execution_changed = False
        self.effects = Effects()
        self._base: dict[str, Any] | None = None
        self._lineage: Lineage | None = None
        self._by_id: dict[str, TaskRun] | None = None
        """The runs by id, built when first asked: a fan-out takes thousands of results."""

    def find(self, task: TaskSpec, parent: TaskRun | None, value: str | None) -> TaskRun | None:
        return self.index.get((task.id, parent.id if parent else None, value))

    def touch(self, run: TaskRun) -> None:
        self.changed[run.id] = run
        self._base = None

    def lineage(self) -> Lineage:
        if self._lineage is None:
            self._lineage = Lineage(self.ex, self.tasks)
        return self._lineage

    def variables(self, task: TaskSpec, run: TaskRun) -> dict[str, Any]:
        return task_variables(self._base_variables(), task, run, self.lineage())

    def variables_for_flow(self) -> Mapping[str, Any]:
        """The expression context of the flow itself (its outputs are rendered in it)."""
        return self._base_variables()

    def _base_variables(self) -> dict[str, Any]:
        if self._base is None:
            outputs = outputs_tree(self.ex, self.lineage())
            self._base = base_variables(
                self.ex, self.flow, outputs, self.env.envs, self.env.globals
            )
        return self._base

    def render(self, value: Any, task: TaskSpec, run: TaskRun, typed: bool = False) -> Any:
        return self.env.renderer.render_value(value, self.variables(task, run), typed=typed)

    def log(self, run: TaskRun | None, level: LogLevel, message: str) -> None:
        self.effects.logs.append(
            LogEntry(
                execution_id=self.ex.id,
                task_run_id=run.id if run else None,
                task_id=run.task_id if run else None,
                attempt=None,
                level=level,
                message=message,
                at=now(),
                namespace=self.ex.namespace,
                flow_id=self.ex.flow_id,
            )
        )

    def run_by_id(self, run_id: str) -> TaskRun | None:
        if self._by_id is None:
            self._by_id = {run.id: run for run in self.ex.task_runs}
        return self._by_id.get(run_id)

    def added(self, run: TaskRun) -> None:
        """``run`` was appended to the execution's runs."""
        self.index[(run.task_id, run.parent_id, run.value)] = run
        if self._by_id is not None:
            self._by_id[run.id] = run
        self._lineage = None

    def reindex(self) -> None:
        """The execution's runs were replaced."""
        self.index = {(r.task_id, r.parent_id, r.value): r for r in self.ex.task_runs}
        self._by_id = None
        self._lineage = None
