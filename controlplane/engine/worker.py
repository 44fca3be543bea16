"""The in-process worker: runs the engine's WorkItems on a pool of threads.

What one attempt does is in :mod:`controlplane.engine.attempt_run`; the threads and the cancel
registry are :class:`~controlplane.engine.pool.AttemptPool`, shared with the queue worker.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from controlplane.engine.attempt_context import WorkerSettings
from controlplane.engine.pool import AttemptPool
from controlplane.engine.ports import Store
from controlplane.engine.work import AttemptResult, WorkItem


class Worker:
    """Runs WorkItems on ``concurrency`` threads; ``kill`` stops one, ``shutdown`` stops all."""

    def __init__(self, store: Store, settings: WorkerSettings, concurrency: int = 8) -> None:
        self.store = store
        self.settings = settings
        self._pool = AttemptPool(store, settings, concurrency)

    def submit(self, item: WorkItem, on_done: Callable[[AttemptResult], None]) -> None:
        """Queue ``item``; ``on_done`` gets its result on a worker thread."""
        self._pool.submit(item.task_run_id, functools.partial(self._pool.attempt, item), on_done)

    def kill(self, task_run_id: str) -> bool:
        """Stop the attempt of ``task_run_id`` (queued or running); False when none is known."""
        return self._pool.cancel(task_run_id)

    def shutdown(self, grace_seconds: float) -> None:
        """Let attempts finish for ``grace_seconds``, then kill what still runs and wait for it."""
        self._pool.shutdown(grace_seconds)
