"""What ``weir run`` waits for: a pause that ends by itself, and the next execution of a retry.

Kestra's own tests wait for the final state: a Pause with a ``delay``/``pauseDuration`` or a
``timeout`` resumes (or fails) by itself, and a ``CREATE_NEW_EXECUTION`` retry ends the failed
execution RETRIED and goes on in a new execution of the same chain.
"""

from __future__ import annotations

from controlplane.engine.flowcache import flow_cache
from controlplane.engine.model import Execution, State
from controlplane.engine.ports import Store
from controlplane.spec.plugins.flow import Pause
from controlplane.spec.problems import FlowInvalid


def pause_ends_by_itself(store: Store, execution: Execution) -> bool:
    """Whether every paused task run of ``execution`` is a Pause with a delay or a timeout."""
    paused = {run.task_id for run in execution.task_runs if run.state is State.PAUSED}
    if not paused:
        return False
    try:
        with store.unit(read_only=True) as repos:
            flow = flow_cache(store).read(
                repos, execution.namespace, execution.flow_id, execution.flow_revision
            )
    except FlowInvalid:
        return False
    if flow is None:
        return False
    timed = {
        task.id
        for _, task in flow.all_tasks()
        if isinstance(task, Pause) and (task.pauseDuration is not None or task.timeout is not None)
    }
    return paused <= timed


def next_in_chain(store: Store, execution: Execution) -> Execution | None:
    """The execution a CREATE_NEW_EXECUTION retry created after ``execution``, if any."""
    original = execution.original_id or execution.id
    with store.unit(read_only=True) as repos:
        candidates = repos.executions.list_executions(
            execution.namespace, execution.flow_id, limit=100
        )
    for candidate in candidates:
        chained = candidate.original_id == original and candidate.id != execution.id
        if chained and candidate.attempt == execution.attempt + 1:
            return candidate
    return None
