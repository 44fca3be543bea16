"""What the executor hands a worker, and what the worker hands back.

The executor decides that a task run must run and builds a :class:`WorkItem` with everything the
attempt needs (the validated task, the expression variables of the task run, limits). A worker
runs the attempt and returns an :class:`AttemptResult`; the executor applies it (retries, state
of the parent, next tasks). Neither side shares mutable state with the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from controlplane.engine.model import State
from controlplane.spec.tasks import TaskSpec


@dataclass(frozen=True)
class WorkItem:
    execution_id: str
    namespace: str
    flow_id: str
    flow_revision: int
    task_run_id: str
    task: TaskSpec
    attempt: int
    """1 for the first attempt."""
    variables: Mapping[str, Any]
    """The expression context of the task run: flow, execution, inputs, outputs, vars, taskrun..."""
    timeout: timedelta | None = None
    working_dir: Path | None = None
    """Set when the task runs inside a WorkingDirectory: the directory its siblings share."""
    secret_values: tuple[str, ...] = ()
    """Values to mask in logs that are already known (SECRET inputs)."""
    parent_executions: tuple[tuple[str, str, str], ...] = ()
    """(namespace, flowId, executionId) of the executions that started this one as a subflow:
    the task may read their files."""


@dataclass
class AttemptResult:
    task_run_id: str
    attempt: int
    state: State
    """SUCCESS, WARNING, FAILED or KILLED."""
    started: datetime
    ended: datetime
    outputs: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    """Labels the task set on the execution."""
    error: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    """Variables the task set on the execution (``vars``), merged into those it has."""
    unset: list[str] = field(default_factory=list)
    """Variables the task removed from the execution, as dotted paths."""
    commands: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    """``(kind, execution id, payload)``: a resume or a kill the task sent to an execution,
    delivered once the step that takes this result commits."""


def _plain(value: Any) -> Any:
    """``value`` as JSON can hold it: datetimes as ISO text, paths as text."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def item_to_json(item: WorkItem) -> dict[str, Any]:
    """A work item for a worker in another process; the task travels as its id in the flow
    revision, which the worker reads from the store."""
    return {
        "executionId": item.execution_id,
        "namespace": item.namespace,
        "flowId": item.flow_id,
        "flowRevision": item.flow_revision,
        "taskRunId": item.task_run_id,
        "taskId": item.task.id,
        "attempt": item.attempt,
        "variables": _plain(item.variables),
        "timeout": item.timeout.total_seconds() if item.timeout is not None else None,
        "workingDir": str(item.working_dir) if item.working_dir is not None else None,
        "secretValues": list(item.secret_values),
        "parentExecutions": [list(parent) for parent in item.parent_executions],
    }


def item_from_json(data: Mapping[str, Any], task: TaskSpec) -> WorkItem:
    timeout = data.get("timeout")
    working_dir = data.get("workingDir")
    return WorkItem(
        execution_id=data["executionId"],
        namespace=data["namespace"],
        flow_id=data["flowId"],
        flow_revision=data["flowRevision"],
        task_run_id=data["taskRunId"],
        task=task,
        attempt=data["attempt"],
        variables=data["variables"],
        timeout=timedelta(seconds=timeout) if timeout is not None else None,
        working_dir=Path(working_dir) if working_dir else None,
        secret_values=tuple(data.get("secretValues") or ()),
        parent_executions=tuple(
            (parent[0], parent[1], parent[2]) for parent in data.get("parentExecutions") or ()
        ),
    )


def result_to_json(result: AttemptResult) -> dict[str, Any]:
    return {
        "task_run_id": result.task_run_id,
        "attempt": result.attempt,
        "state": result.state.value,
        "started": result.started.isoformat(),
        "ended": result.ended.isoformat(),
        "outputs": _plain(result.outputs),
        "labels": result.labels,
        "error": result.error,
        "variables": _plain(result.variables),
        "unset": result.unset,
        "commands": [list(command) for command in result.commands],
    }


def result_from_json(data: Mapping[str, Any]) -> AttemptResult:
    return AttemptResult(
        task_run_id=data["task_run_id"],
        attempt=data["attempt"],
        state=State(data["state"]),
        started=datetime.fromisoformat(data["started"]),
        ended=datetime.fromisoformat(data["ended"]),
        outputs=dict(data.get("outputs") or {}),
        labels=dict(data.get("labels") or {}),
        error=data.get("error"),
        variables=dict(data.get("variables") or {}),
        unset=[str(path) for path in data.get("unset") or ()],
        commands=[
            (kind, target, dict(payload)) for kind, target, payload in data.get("commands") or ()
        ],
    )
