"""What a decision step asks the engine to do once the step is persisted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from controlplane.engine.ports import LogEntry
from controlplane.engine.work import WorkItem


@dataclass(frozen=True)
class SubflowStart:
    parent_run_id: str
    namespace: str
    flow_id: str
    inputs: dict[str, Any]
    labels: dict[str, str]
    wait: bool
    revision: int | None


@dataclass
class Effects:
    dispatch: list[WorkItem] = field(default_factory=list)
    subflows: list[SubflowStart] = field(default_factory=list)
    wake_at: datetime | None = None
    logs: list[LogEntry] = field(default_factory=list)
    retry_in: timedelta | None = None
    """The execution ended RETRIED: start a new one of the chain after this delay."""
