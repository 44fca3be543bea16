"""Waiting on progress instead of the clock.

A fixed deadline fails a slow machine that is still working; ``wait_while_advancing`` fails only
when the thing watched stops changing: it polls a snapshot of the work (counts of states, rows,
lines) and gives up when that snapshot has stayed the same for ``stall`` seconds in a row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from controlplane.engine.engine import Engine
    from controlplane.engine.model import Execution, State
    from controlplane.engine.ports import Store

Snapshot = TypeVar("Snapshot")


class Stalled(AssertionError):
    """Nothing advanced for the whole stall window."""


def wait_while_advancing(
    snapshot: Callable[[], Snapshot],
    done: Callable[[Snapshot], bool],
    what: str,
    stall: float = 120.0,
    poll: float = 0.5,
) -> Snapshot:
    """Poll ``snapshot()`` until ``done`` holds for it; return that snapshot.

    Any change of the snapshot counts as progress and restarts the stall window; the wait fails
    with :class:`Stalled` (naming ``what`` and the last snapshot) once ``stall`` seconds pass
    without one. There is no limit on the total time while the work advances."""
    current = snapshot()
    changed = time.monotonic()
    while not done(current):
        if time.monotonic() - changed > stall:
            raise Stalled(f"{what}: nothing advanced for {stall:g}s; last seen {current!r}")
        time.sleep(poll)
        latest = snapshot()
        if latest != current:
            current, changed = latest, time.monotonic()
    return current


Value = TypeVar("Value")


def wait_until(
    probe: Callable[[], Value],
    done: Callable[[Value], bool] = bool,
    what: str = "the condition",
    *,
    progress: Callable[[], object] | None = None,
    stall: float = 120.0,
    poll: float = 0.05,
) -> Value:
    """Poll ``probe()`` until ``done`` holds for its value; return that value.

    The wait fails (:class:`Stalled`) only when neither the probed value nor ``progress()`` (a
    snapshot of the work that leads there: an execution's task runs, a count of log lines)
    changed for ``stall`` seconds in a row: never on a total deadline."""
    watch = progress or (lambda: None)
    value, _ = wait_while_advancing(
        lambda: (probe(), watch()), lambda seen: done(seen[0]), what, stall, poll
    )
    return value


def over(execution: Execution) -> bool:
    """Ended, and so did every one of its task runs."""
    return execution.state.terminal and all(r.state.terminal for r in execution.task_runs)


def ended(
    engine: Engine,
    execution_id: str,
    until: Iterable[State] = (),
    *,
    done: Callable[[Execution], bool] | None = None,
    stall: float = 120.0,
) -> Execution:
    """The execution as stored once it is over (or in one of ``until``, or ``done`` holds).

    Fails only when neither the execution nor its log advanced for ``stall`` seconds."""
    states = frozenset(until)
    reached = done or (lambda execution: over(execution) or execution.state in states)
    wanted = states or None

    last_line = [0]

    def stored() -> Execution:
        engine.wait(execution_id, timeout=0.2, until=wanted)  # at most 0.2 s: sooner when it ends
        with engine.store.unit(read_only=True) as repos:
            execution = repos.executions.read_execution(execution_id)
            lines = repos.logs.list_logs(execution_id, after=last_line[0])
        assert execution is not None, f"execution {execution_id} does not exist"
        if lines:
            last_line[0] = lines[-1][0]
        return execution

    return wait_until(
        stored,
        reached,
        f"execution {execution_id}",
        progress=lambda: last_line[0],
        stall=stall,
        poll=0.0,
    )


def ended_json(
    fetch: Callable[[], Any],
    done: Callable[[Any], bool] | None = None,
    what: str = "the execution",
    stall: float = 120.0,
) -> Any:
    """An execution as the API answers it (Kestra's JSON), fetched until it ended (or ``done``
    holds); every change of the answer counts as progress."""
    finished = done or (lambda execution: execution["state"]["current"] in TERMINAL_NAMES)
    return wait_until(fetch, finished, what, stall=stall)


TERMINAL_NAMES = frozenset(
    {"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "RETRIED", "SKIPPED"}
)


def executions_progress(store: Store) -> object:
    """How many executions a store holds in each state: a snapshot of everything it runs."""
    with store.unit(read_only=True) as repos:
        return repos.executions.count_executions_by_state()


def ended_through(executions: Any, execution_id: str, stall: float = 120.0) -> Any:
    """An execution read through the Python client (``client.executions``) once it and its task
    runs ended; the wait lasts while its document changes."""
    return wait_until(
        lambda: executions.get(execution_id),
        lambda execution: execution.terminal,
        f"execution {execution_id}",
        stall=stall,
    )
