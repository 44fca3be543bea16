"""The work item of a runnable task run: everything a worker needs to run one attempt."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from controlplane.engine.model import Execution, TaskRun
from controlplane.engine.variables import Lineage
from controlplane.engine.work import WorkItem
from controlplane.spec.flow import Flow
from controlplane.spec.plugins.flow import WorkingDirectory
from controlplane.spec.tasks import TaskSpec


def work_item(
    execution: Execution,
    flow: Flow,
    task: TaskSpec,
    run: TaskRun,
    variables: dict[str, Any],
    lineage: Lineage,
    work_root: Path,
) -> WorkItem:
    """The next attempt of ``run``; ``variables`` is its expression context."""
    directory = working_dir_run(lineage, run)
    if directory is not None:
        variables["workerTaskrun"] = {
            "id": directory.id,
            "value": directory.value,
            "parentId": directory.parent_id,
            "startDate": variables["taskrun"]["startDate"],
        }
    return WorkItem(
        execution_id=execution.id,
        namespace=execution.namespace,
        flow_id=execution.flow_id,
        flow_revision=execution.flow_revision,
        task_run_id=run.id,
        task=task,
        attempt=len(run.attempts) + 1,
        variables=variables,
        timeout=task.timeout,
        working_dir=work_root / execution.id / directory.id if directory else None,
        secret_values=_secret_inputs(flow, execution.inputs),
        parent_executions=_parents(execution),
    )


def working_dir_run(lineage: Lineage, run: TaskRun) -> TaskRun | None:
    """The run of the WorkingDirectory that encloses ``run``, when there is one."""
    node = lineage.parent(run)
    while node is not None:
        if isinstance(lineage.tasks.get(node.task_id), WorkingDirectory):
            return node
        node = lineage.parent(node)
    return None


def _parents(execution: Execution) -> tuple[tuple[str, str, str], ...]:
    parent = execution.parent
    if parent is None:
        return ()
    return ((parent.namespace, parent.flow_id, parent.execution_id),)


def _secret_inputs(flow: Flow, inputs: Mapping[str, Any]) -> tuple[str, ...]:
    secret_ids = {item.id for item in flow.inputs if item.type == "SECRET"}
    return tuple(str(inputs[key]) for key in secret_ids if inputs.get(key) is not None)
