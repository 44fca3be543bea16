"""What the engine's loop takes in: events, each for one execution, and the database command an
event becomes when the execution is advanced by an executor in another process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from controlplane.engine.model import Execution
from controlplane.engine.ports import Repositories


@dataclass(frozen=True)
class Event:
    """A new execution (``start``), an attempt's ``result``, a ``resume``, a ``kill``, a timer
    (``wake``), a child execution that started or ended, and the like."""

    execution_id: str
    kind: str
    payload: Any = None
    taken: str | None = None
    """The key of the database row (result, command) it came from, removed when applied."""


STOP = Event("", "stop")
"""Put last on the loop's queue: the loop ends once it has taken it."""


def over(execution: Execution) -> bool:
    """Ended, and so are all of its task runs: nothing will change it but a restart."""
    return execution.state.terminal and all(r.state.terminal for r in execution.task_runs)


def record_command(repos: Repositories, event: Event, lease: timedelta) -> None:
    """``event`` as a command in the database, for the executor that holds (or takes) its
    execution."""
    payload = event.payload
    if event.kind == "subflow_ended":
        run_id, child = payload
        payload = [run_id, child.to_dict()]
    if event.kind == "restart":  # an ended execution has no lease left
        repos.leases.create_lease(event.execution_id, None, lease)
    repos.commands.create_command(event.execution_id, event.kind, payload)


def command_event(execution_id: str, kind: str, payload: Any, taken: str | None) -> Event:
    """A command read from the database, as the event it was recorded from."""
    if kind == "subflow_ended":
        run_id, child = payload
        payload = (run_id, Execution.from_dict(child))
    return Event(execution_id, kind, payload, taken)
