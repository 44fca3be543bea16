"""The execution summary: what every ``*Execution`` notification says about an execution."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from controlplane.engine.model import Execution, State, TaskRun, now
from controlplane.engine.runnable import RunContext, TaskFailed
from controlplane.spec.durations import format_duration
from controlplane.spec.plugins.notifications import _ExecutionFields
from controlplane.tasks import props

PUBLIC_URL_ENV = "WEIR_PUBLIC_URL"


@dataclass(frozen=True)
class Summary:
    """What every ``*Execution`` notification says about an execution."""

    namespace: str
    flow_id: str
    execution_id: str
    state: State
    started: datetime
    ended: datetime | None
    duration: timedelta
    failed: list[TaskRun]
    """Failed or killed task runs, the earliest failure first."""
    error: str | None
    labels: dict[str, str]
    link: str | None
    custom_message: str | None
    custom_fields: dict[str, Any]

    @property
    def title(self) -> str:
        return f"[{self.namespace}] {self.flow_id} ➛ {self.state.value}"

    @property
    def human_duration(self) -> str:
        return _human(self.duration)

    @property
    def outcome(self) -> str:
        if self.failed:
            return f"Failed on task `{self.failed[0].task_id}` after {self.human_duration}"
        if self.state is State.SUCCESS:
            return f"Succeeded after {self.human_duration}"
        if not self.state.terminal:
            return f"Running for {self.human_duration}"
        return f"{self.state.value.capitalize()} after {self.human_duration}"

    def facts(self) -> list[tuple[str, str]]:
        facts = [
            ("Namespace", self.namespace),
            ("Flow ID", self.flow_id),
            ("Execution ID", self.execution_id),
            ("Execution Status", self.state.value),
            ("Duration", self.human_duration),
        ]
        if self.failed:
            facts.append(("Failed task", ", ".join(_unique(r.task_id for r in self.failed))))
        if self.error:
            facts.append(("Error", self.error))
        facts += [(str(k), fact_text(v)) for k, v in self.custom_fields.items()]
        return facts

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "flowId": self.flow_id,
            "executionId": self.execution_id,
            "state": self.state.value,
            "startDate": self.started.isoformat(),
            "endDate": self.ended.isoformat() if self.ended else None,
            "duration": format_duration(self.duration),
            "durationSeconds": round(self.duration.total_seconds(), 3),
            "failedTasks": [
                {"taskId": r.task_id, "taskRunId": r.id, "value": r.value, "state": r.state.value}
                for r in self.failed
            ],
            "error": self.error,
            "labels": self.labels,
            "link": self.link,
            "customMessage": self.custom_message,
            "customFields": self.custom_fields,
        }


def _first_error(failed: list[TaskRun]) -> str | None:
    """The message of the last attempt of the earliest failed task run that has one."""
    for run in failed:
        for attempt in reversed(run.attempts):
            if attempt.error:
                return attempt.error
    return None


def summarize(task: _ExecutionFields, ctx: RunContext) -> Summary:
    execution_id = props.text(ctx, task.executionId).strip()
    if not execution_id:
        raise TaskFailed("'executionId' rendered to an empty text; it names the execution")
    execution = ctx.read_execution(execution_id)
    if execution is None:
        raise TaskFailed(f"'executionId': no execution '{execution_id}' exists")
    own = ctx.task_run_id
    runs_ = [r for r in execution.task_runs if r.id != own]
    failed = sorted(
        (r for r in runs_ if r.state in (State.FAILED, State.KILLED)),
        key=lambda r: r.history[-1].at if r.history else execution.started,
    )
    ended = execution.ended
    base = os.environ.get(PUBLIC_URL_ENV, "").strip().rstrip("/")
    return Summary(
        namespace=execution.namespace,
        flow_id=execution.flow_id,
        execution_id=execution.id,
        state=reported_state(execution, own),
        started=execution.started,
        ended=ended,
        duration=(ended or now()) - execution.started,
        failed=failed,
        error=execution.error or _first_error(failed),
        labels=dict(execution.labels),
        link=f"{base}/api/v1/executions/{execution.id}" if base else None,
        custom_message=props.optional_text(ctx, task.customMessage),
        custom_fields=props.mapping(ctx, task.customFields, "customFields"),
    )


def reported_state(execution: Execution, own_task_run_id: str | None = None) -> State:
    """The execution's state, or what it is heading to while a notification of it runs."""
    if execution.state.terminal:
        return execution.state
    if execution.state is State.KILLING:
        return State.KILLED
    others = [r.state for r in execution.task_runs if r.id != own_task_run_id]
    if any(state in (State.FAILED, State.KILLED) for state in others):
        return State.FAILED
    if State.WARNING in others:
        return State.WARNING
    return execution.state


def _human(duration: timedelta) -> str:
    seconds = max(duration.total_seconds(), 0.0)
    if seconds < 60:
        return f"{seconds:.2f}".rstrip("0").rstrip(".") + "s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    return " ".join(f"{n}{unit}" for n, unit in parts if n)


def fact_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def severity(state: State) -> str:
    if state is State.SUCCESS:
        return "success"
    if state is State.WARNING:
        return "warning"
    return "failure" if state.failed else "neutral"
