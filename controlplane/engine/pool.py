"""The threads that run attempts, and the cancel event of each attempt queued or running.

Both workers use it: the in-process :class:`~controlplane.engine.worker.Worker` and the
:class:`~controlplane.engine.queue_worker.QueueWorker` that claims attempts from the database.
An attempt is known by a key (its task run id, or the id of the claimed work) from the moment it is
submitted until its work has returned; ``cancel`` stops it, queued or running.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

from controlplane.engine.attempt_context import WorkerSettings
from controlplane.engine.attempt_functions import attempt_functions
from controlplane.engine.attempt_run import run_attempt
from controlplane.engine.ports import Store
from controlplane.engine.process import CancelEvent, Scheduler
from controlplane.engine.work import AttemptResult, WorkItem
from controlplane.expr import Renderer

_log = logging.getLogger(__name__)

T = TypeVar("T")


class AttemptPool:
    """``concurrency`` threads, the renderer and timer thread their attempts share, and the
    registry of cancel events."""

    def __init__(self, store: Store, settings: WorkerSettings, concurrency: int) -> None:
        self.store = store
        self.settings = settings
        self._executor = ThreadPoolExecutor(concurrency, thread_name_prefix="weir-worker")
        self._renderer = Renderer(functions=attempt_functions())
        self._scheduler = Scheduler()
        self._running: dict[str, CancelEvent] = {}
        self._futures: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, key: str, work: Callable[[CancelEvent], T], then: Callable[[T], None]) -> None:
        """Queue ``work``; once it has returned and ``key`` is forgotten, ``then`` gets what it
        returned (both on a pool thread)."""
        cancelled = CancelEvent()
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker is shut down")
            self._running[key] = cancelled
            future = self._executor.submit(self._run, key, cancelled, work, then)
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def attempt(self, item: WorkItem, cancelled: CancelEvent) -> AttemptResult:
        """Run one attempt of ``item`` with the pool's renderer and timers."""
        return run_attempt(
            item,
            self.store,
            self.settings,
            cancelled=cancelled,
            renderer=self._renderer,
            scheduler=self._scheduler,
        )

    def cancel(self, key: str) -> bool:
        """Stop the attempt known by ``key``; False when none is."""
        with self._lock:
            cancelled = self._running.get(key)
        if cancelled is None:
            return False
        cancelled.set()
        return True

    def keys(self) -> list[str]:
        """The keys of the attempts queued or running."""
        with self._lock:
            return list(self._running)

    def __len__(self) -> int:
        with self._lock:
            return len(self._running)

    def shutdown(self, grace_seconds: float) -> None:
        """Take nothing more; let attempts finish for ``grace_seconds``, then cancel what still
        runs and wait for it."""
        with self._lock:
            self._closed = True
            futures = set(self._futures)
        wait(futures, timeout=grace_seconds)
        with self._lock:
            events = list(self._running.values())
        for event in events:
            event.set()
        self._executor.shutdown(wait=True)
        self._scheduler.close()

    def _run(
        self,
        key: str,
        cancelled: CancelEvent,
        work: Callable[[CancelEvent], T],
        then: Callable[[T], None],
    ) -> None:
        try:
            result = work(cancelled)
        finally:
            with self._lock:
                if self._running.get(key) is cancelled:
                    del self._running[key]
        then(result)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)
        error = future.exception()
        if error is not None:
            _log.error("a worker thread failed", exc_info=error)
