"""What the engine does with an execution whose events it cannot apply: it ends it FAILED, with
the error in the execution's log, without the flow or the decision core (either may be what
fails)."""

from __future__ import annotations

from controlplane.engine.model import Execution, State, now
from controlplane.engine.ports import LogEntry, Repositories


def fail_execution(repos: Repositories, execution: Execution, error: Exception) -> list[str]:
    """Mark the execution and its unfinished task runs FAILED and log why, in ``repos``;
    returns the task runs a worker may still run, to stop."""
    moment = now()
    changed = [run for run in execution.task_runs if not run.state.terminal]
    kills = [run.id for run in changed if run.state is State.RUNNING]
    for run in changed:
        run.transition(State.FAILED, moment)
    was_terminal = execution.state.terminal
    if execution.state is not State.FAILED:
        execution.transition(State.FAILED, moment)
    repos.executions.update_execution(execution, changed)
    if not was_terminal:
        repos.triggers.record_end(execution.id)
    message = (
        "The engine failed twice to apply an event to this execution, which ends FAILED: "
        f"{type(error).__name__}: {error}"
    )
    entry = LogEntry(
        execution.id, None, None, None, "ERROR", message, moment,
        namespace=execution.namespace, flow_id=execution.flow_id,
    )  # fmt: skip
    repos.logs.create_logs([entry])
    return kills
