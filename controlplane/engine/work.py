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
