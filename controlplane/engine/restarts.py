"""What a restart keeps, drops and runs again of a failed execution."""

from __future__ import annotations

from collections.abc import Iterable

from controlplane.engine.model import Execution, TaskRun
from controlplane.engine.variables import Lineage
from controlplane.spec.flow import Flow, walk_task
from controlplane.spec.tasks import TaskSpec


def restart_plan(
    execution: Execution, flow: Flow, tasks: Iterable[TaskSpec], lineage: Lineage
) -> tuple[set[str], list[TaskRun]]:
    """The ids of the runs a restart drops (those of error and finally branches, which run
    again if the tasks fail again, and every run below them), and the failed runs it keeps
    to run again."""
    branch_tasks = _branch_task_ids(flow, tasks)
    dropped = {run.id for run in execution.task_runs if run.task_id in branch_tasks}
    for run in execution.task_runs:
        node = lineage.parent(run)
        while node is not None and run.id not in dropped:
            if node.id in dropped:
                dropped.add(run.id)
            node = lineage.parent(node)
    failed = [r for r in execution.task_runs if r.id not in dropped and r.state.failed]
    return dropped, failed


def _branch_task_ids(flow: Flow, tasks: Iterable[TaskSpec]) -> set[str]:
    """Ids of the tasks of every errors and finally branch, flow level included."""
    roots = [*flow.errors, *flow.finally_]
    for task in tasks:
        roots += [*getattr(task, "errors", []), *getattr(task, "finally_", [])]
    ids: set[str] = set()
    for root in roots:
        ids.update(task.id for _, task in walk_task(root, ()))
    return ids
