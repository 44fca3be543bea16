"""Runs one attempt of a runnable task.

:func:`run_attempt` builds an :class:`AttemptContext` from a :class:`WorkItem`, calls the task's
implementation and turns what happens into an :class:`AttemptResult`::

    returned outputs            -> SUCCESS (WARNING when the task called ctx.warn())
    TaskFailed                  -> FAILED, its message logged at ERROR
    ExpressionError             -> FAILED, "Unable to render `<template>`: <why>"
    TaskKilled / cancel         -> KILLED, or FAILED when the task's own timeout stopped it
    any other exception         -> FAILED, "TypeName: message" (the traceback goes to DEBUG)

The hot path of a trivial task creates no thread, sleeps nowhere and opens no store unit unless
the task logged something.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from controlplane.engine.attempt_context import AttemptContext, WorkerSettings
from controlplane.engine.attempt_functions import default_renderer
from controlplane.engine.model import State, now
from controlplane.engine.ports import Store
from controlplane.engine.process import CancelEvent, Scheduler
from controlplane.engine.runnable import TaskFailed, TaskKilled, runner_for
from controlplane.engine.taskcache import run_cached
from controlplane.engine.work import AttemptResult, WorkItem
from controlplane.expr import ExpressionError, Renderer
from controlplane.spec.durations import format_duration

_log = logging.getLogger(__name__)


@functools.cache
def default_scheduler() -> Scheduler:
    return Scheduler()


def run_attempt(
    item: WorkItem,
    store: Store,
    settings: WorkerSettings,
    *,
    cancelled: CancelEvent | None = None,
    renderer: Renderer | None = None,
    scheduler: Scheduler | None = None,
) -> AttemptResult:
    """Run one attempt of ``item.task`` and say how it ended; never raises for a task's failure."""
    started = now()
    ctx = AttemptContext(
        item,
        store,
        settings,
        renderer or default_renderer(),
        cancelled,
        scheduler or default_scheduler(),
    )
    timer = None
    if item.timeout is not None:
        timer = (scheduler or default_scheduler()).call_later(
            item.timeout.total_seconds(), ctx.time_out
        )
    try:
        state, outputs, error = _run(item, ctx)
    finally:
        if timer is not None:
            timer.cancel()
        ctx.flush()
        ctx.remove_working_dir()
    return AttemptResult(
        task_run_id=item.task_run_id,
        attempt=item.attempt,
        state=state,
        started=started,
        ended=now(),
        outputs=ctx.mask_value(outputs),
        labels=ctx.mask_value(ctx.labels),
        error=ctx.mask(error) if error is not None else None,
        **_execution_changes(ctx, state),
    )


def _execution_changes(ctx: AttemptContext, state: State) -> dict[str, Any]:
    """What the task changed of executions, kept only when it succeeded."""
    if state not in (State.SUCCESS, State.WARNING):
        return {}
    return {
        "variables": ctx.mask_value(ctx.variables_set),
        "unset": list(ctx.variables_unset),
        "commands": list(ctx.commands),
    }


def _run(item: WorkItem, ctx: AttemptContext) -> tuple[State, dict[str, Any], str | None]:
    runner = runner_for(type(item.task))
    if runner is None:
        return _failed(ctx, f"Weir has no implementation of the task type {item.task.type}")
    if ctx.cancelled.is_set():
        return _failed(ctx, "The task was killed before it started", State.KILLED)
    try:
        outputs = dict(run_cached(runner, item.task, ctx) or {})
    except TaskKilled as exc:
        return _stopped(ctx, item, str(exc))
    except TaskFailed as exc:
        state, _, error = _failed(ctx, exc.message)
        return state, exc.outputs, error
    except ExpressionError as exc:
        if ctx.cancelled.is_set():  # a kill or the timeout stopped its rendering
            return _stopped(ctx, item, "while rendering")
        return _failed(ctx, _expression_message(exc))
    except Exception as exc:
        _log.debug("task run %s failed", item.task_run_id, exc_info=True)
        return _failed(ctx, f"{type(exc).__name__}: {exc}")
    return (State.WARNING if ctx.warned else State.SUCCESS), outputs, None


def _stopped(
    ctx: AttemptContext, item: WorkItem, why: str
) -> tuple[State, dict[str, Any], str | None]:
    if ctx.timed_out and item.timeout is not None:
        return _failed(ctx, f"Timeout after {format_duration(item.timeout)}: the task was stopped")
    return _failed(ctx, f"The task was killed ({why})", State.KILLED)


def _failed(
    ctx: AttemptContext, message: str, state: State = State.FAILED
) -> tuple[State, dict[str, Any], str]:
    masked = ctx.mask(message)
    ctx.log("WARN" if state is State.KILLED else "ERROR", masked)
    return state, {}, masked


def _expression_message(exc: ExpressionError) -> str:
    if exc.template is None:
        return str(exc)
    return f"Unable to render `{exc.template.strip()}`: {exc}"
