"""Executions and task runs: the state the executor decides from and persists.

Plain dataclasses with explicit ``to_dict`` / ``from_dict`` so storage can keep them as JSON and
the API can return them; times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class State(StrEnum):
    CREATED = "CREATED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    RESTARTED = "RESTARTED"
    KILLING = "KILLING"
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    FAILED = "FAILED"
    KILLED = "KILLED"
    CANCELLED = "CANCELLED"
    RETRYING = "RETRYING"
    RETRIED = "RETRIED"
    SKIPPED = "SKIPPED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def failed(self) -> bool:
        return self in (State.FAILED, State.KILLED, State.CANCELLED)


TERMINAL = frozenset(
    {
        State.SUCCESS,
        State.WARNING,
        State.FAILED,
        State.KILLED,
        State.CANCELLED,
        State.RETRIED,
        State.SKIPPED,
    }
)


def now() -> datetime:
    return datetime.now(UTC)


_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def new_id() -> str:
    """A 22-character, roughly time-ordered identifier (like Kestra's short UUIDs):
    8 characters of milliseconds, then 14 random ones (83 bits)."""
    return _base62(int(time.time() * 1000), 8) + _base62(secrets.randbits(83), 14)


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(_ALPHABET[digit])
    return "".join(reversed(digits))


@dataclass
class Transition:
    state: State
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state.value, "date": self.at.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transition:
        return cls(State(data["state"]), datetime.fromisoformat(data["date"]))


@dataclass
class Attempt:
    state: State
    started: datetime
    ended: datetime | None = None
    error: str | None = None
    """Why a failed attempt failed (the task's message, secrets masked)."""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "state": self.state.value,
            "startDate": self.started.isoformat(),
            "endDate": self.ended.isoformat() if self.ended else None,
        }
        if self.error is not None:
            data["error"] = self.error
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attempt:
        ended = data.get("endDate")
        return cls(
            State(data["state"]),
            datetime.fromisoformat(data["startDate"]),
            datetime.fromisoformat(ended) if ended else None,
            data.get("error"),
        )


class _History:
    """A state and every state it went through, with times: task runs and executions."""

    state: State
    history: list[Transition]

    def __post_init__(self) -> None:
        if not self.history:
            self.history.append(Transition(self.state, now()))

    def transition(self, state: State, at: datetime | None = None) -> None:
        """Record a move to ``state``. Where a move is a decision (a retry, allowFailure, how an
        execution ends, its concurrency limit, an SLA, a user's command) the rules of
        ``engine/rules.py`` made it; this only records it."""
        self.state = state
        self.history.append(Transition(state, at or now()))

    @property
    def started(self) -> datetime:
        return self.history[0].at

    @property
    def ended(self) -> datetime | None:
        return self.history[-1].at if self.state.terminal else None


@dataclass
class TaskRun(_History):
    """One run of one task: per loop value, with its attempts and every state it went through."""

    id: str
    task_id: str
    parent_id: str | None = None
    value: str | None = None
    iteration: int | None = None
    state: State = State.CREATED
    history: list[Transition] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    wake_at: datetime | None = None
    """When a waiting run (retry delay, timed pause, loop interval) must be looked at again."""
    items: list[str] | None = None
    """The values a loop task iterates over, rendered once when it starts."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "wakeAt": self.wake_at.isoformat() if self.wake_at else None,
            "items": self.items,
            "taskId": self.task_id,
            "parentTaskRunId": self.parent_id,
            "value": self.value,
            "iteration": self.iteration,
            "state": self.state.value,
            "history": [t.to_dict() for t in self.history],
            "attempts": [a.to_dict() for a in self.attempts],
            "outputs": self.outputs,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskRun:
        return cls(
            id=data["id"],
            task_id=data["taskId"],
            parent_id=data.get("parentTaskRunId"),
            value=data.get("value"),
            iteration=data.get("iteration"),
            state=State(data["state"]),
            history=[Transition.from_dict(t) for t in data.get("history", [])],
            attempts=[Attempt.from_dict(a) for a in data.get("attempts", [])],
            outputs=data.get("outputs") or {},
            wake_at=datetime.fromisoformat(data["wakeAt"]) if data.get("wakeAt") else None,
            items=data.get("items"),
        )


@dataclass
class ParentRef:
    """The Subflow task run that started this execution."""

    execution_id: str
    task_run_id: str
    namespace: str
    flow_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "executionId": self.execution_id,
            "taskRunId": self.task_run_id,
            "namespace": self.namespace,
            "flowId": self.flow_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ParentRef:
        return cls(data["executionId"], data["taskRunId"], data["namespace"], data["flowId"])


@dataclass
class Execution(_History):
    id: str
    namespace: str
    flow_id: str
    flow_revision: int
    state: State = State.CREATED
    history: list[Transition] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    trigger: dict[str, Any] | None = None
    parent: ParentRef | None = None
    task_runs: list[TaskRun] = field(default_factory=list)
    scheduled: datetime | None = None
    original_id: str | None = None
    error: str | None = None
    end_state: State | None = None
    """The state a stopping execution ends in: KILLED unless an SLA says FAILED or CANCELLED."""
    attempt: int = 1
    """Which try of a chain this is, when a failed execution is retried as a new one."""
    chain_started: datetime | None = None
    """When the first execution of that chain started."""

    def task_run(self, task_run_id: str) -> TaskRun:
        for run in self.task_runs:
            if run.id == task_run_id:
                return run
        raise KeyError(task_run_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "namespace": self.namespace,
            "flowId": self.flow_id,
            "flowRevision": self.flow_revision,
            "state": self.state.value,
            "history": [t.to_dict() for t in self.history],
            "inputs": self.inputs,
            "outputs": self.outputs,
            "labels": self.labels,
            "variables": self.variables,
            "trigger": self.trigger,
            "parent": self.parent.to_dict() if self.parent else None,
            "taskRuns": [run.to_dict() for run in self.task_runs],
            "scheduleDate": self.scheduled.isoformat() if self.scheduled else None,
            "originalId": self.original_id,
            "error": self.error,
            "endState": self.end_state.value if self.end_state else None,
            "attemptNumber": self.attempt,
            "chainStarted": self.chain_started.isoformat() if self.chain_started else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Execution:
        scheduled = data.get("scheduleDate")
        parent = data.get("parent")
        return cls(
            id=data["id"],
            namespace=data["namespace"],
            flow_id=data["flowId"],
            flow_revision=data["flowRevision"],
            state=State(data["state"]),
            history=[Transition.from_dict(t) for t in data.get("history", [])],
            inputs=data.get("inputs") or {},
            outputs=data.get("outputs"),
            labels=data.get("labels") or {},
            variables=data.get("variables") or {},
            trigger=data.get("trigger"),
            parent=ParentRef.from_dict(parent) if parent else None,
            task_runs=[TaskRun.from_dict(t) for t in data.get("taskRuns", [])],
            scheduled=datetime.fromisoformat(scheduled) if scheduled else None,
            original_id=data.get("originalId"),
            error=data.get("error"),
            end_state=State(data["endState"]) if data.get("endState") else None,
            attempt=data.get("attemptNumber") or 1,
            chain_started=(
                datetime.fromisoformat(data["chainStarted"]) if data.get("chainStarted") else None
            ),
        )
