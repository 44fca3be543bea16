"""An execution drawn as a Gantt: one row per task run, in tree order (children under their
parent), with a bar from its first to its last state and one segment per attempt.

Positions are percentages of the execution's span, so the page draws them with CSS alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from controlplane.engine.model import Execution, TaskRun, now


@dataclass(frozen=True)
class Segment:
    state: str
    left: float
    width: float
    seconds: float
    error: str | None


@dataclass(frozen=True)
class Row:
    run: TaskRun
    depth: int
    left: float
    width: float
    seconds: float
    attempts: list[Segment] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.run.task_id} [{self.run.value}]" if self.run.value else self.run.task_id


@dataclass(frozen=True)
class Gantt:
    start: datetime
    end: datetime
    rows: list[Row]

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def gantt(execution: Execution, at: datetime | None = None) -> Gantt:
    """The execution's rows; a run still going is drawn up to ``at`` (now)."""
    at = at or now()
    start = execution.started
    end = execution.ended or max([at, *(_end(run, at) for run in execution.task_runs)])
    span = max((end - start).total_seconds(), 0.001)

    def place(begin: datetime, finish: datetime) -> tuple[float, float, float]:
        seconds = max((finish - begin).total_seconds(), 0.0)
        left = min(max((begin - start).total_seconds() / span * 100, 0.0), 100.0)
        return left, max(min(seconds / span * 100, 100.0 - left), 0.3), seconds

    rows = []
    for run, depth in tree(execution.task_runs):
        left, width, seconds = place(run.started, _end(run, at))
        attempts = [
            Segment(a.state.value, *place(a.started, a.ended or at), a.error) for a in run.attempts
        ]
        rows.append(Row(run, depth, left, width, seconds, attempts))
    return Gantt(start, end, rows)


def tree(runs: list[TaskRun]) -> list[tuple[TaskRun, int]]:
    """Task runs in creation order, each parent followed by its children, with their depth."""
    children: dict[str | None, list[TaskRun]] = {}
    known = {run.id for run in runs}
    for run in runs:
        parent = run.parent_id if run.parent_id in known else None
        children.setdefault(parent, []).append(run)
    ordered: list[tuple[TaskRun, int]] = []
    stack = [(run, 0) for run in reversed(children.get(None, []))]
    while stack:
        run, depth = stack.pop()
        ordered.append((run, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(run.id, [])))
    return ordered


def _end(run: TaskRun, at: datetime) -> datetime:
    return run.ended or at
