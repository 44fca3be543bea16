"""A worker in its own process: claims attempts from the database queue and runs them.

``weir server worker`` runs one. It claims queued attempts of its worker group (with ``FOR UPDATE
SKIP LOCKED``, so any number of workers share the queue), runs up to ``concurrency`` at once, and
renews the lease on each while it runs. A kill request or a lost lease (the attempt was handed back
because this worker looked dead) stops the attempt; a result is accepted only while this worker
still holds the lease, so an attempt never ends twice. When the database is away the worker keeps
its running attempts and retries its writes; it never crashes for it.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from controlplane.engine.attempt_context import WorkerSettings
from controlplane.engine.flowcache import flow_cache
from controlplane.engine.model import State, now
from controlplane.engine.pool import AttemptPool
from controlplane.engine.ports import Store, StoreUnavailable
from controlplane.engine.process import CancelEvent
from controlplane.engine.queueports import ClaimedWork
from controlplane.engine.work import AttemptResult, item_from_json, result_to_json
from controlplane.spec.problems import FlowInvalid
from controlplane.spec.tasks import TaskSpec

log = logging.getLogger(__name__)

KILL_CHECK = 0.5
"""Seconds between two renewals of the leases of running attempts, which also read kills."""


@dataclass(frozen=True)
class QueueSettings:
    worker_id: str
    group: str | None = None
    """Run only attempts of tasks whose ``workerGroup.key`` is this (None: tasks without one)."""
    concurrency: int = 8
    lease: timedelta = timedelta(seconds=20)
    poll: float = 0.05
    """Seconds between two claims when the queue was empty."""


class QueueWorker:
    def __init__(self, store: Store, settings: WorkerSettings, queue: QueueSettings) -> None:
        self.store = store
        self.settings = settings
        self.queue = queue
        self._pool = AttemptPool(store, settings, queue.concurrency)
        self._free = threading.Semaphore(queue.concurrency)
        self._stopping = threading.Event()
        """Claim nothing more."""
        self._finished = threading.Event()
        """Every attempt ended: leases need no renewal."""
        self._claimer = threading.Thread(target=self._claim, name="weir-claim", daemon=True)
        self._renewer = threading.Thread(target=self._renew, name="weir-lease", daemon=True)
        self.completed = 0

    def start(self) -> None:
        self._claimer.start()
        self._renewer.start()

    def stop(self, grace_seconds: float) -> None:
        """Claim nothing more; let running attempts finish within the grace period, then stop
        them (their results are still recorded)."""
        self._stopping.set()
        if self._claimer.is_alive():
            self._claimer.join()  # what it claimed last is started before it returns
        self._pool.shutdown(grace_seconds)
        self._finished.set()
        if self._renewer.is_alive():
            self._renewer.join()

    @property
    def running(self) -> int:
        return len(self._pool)

    # -- claiming -------------------------------------------------------------------------------
    def _claim(self) -> None:
        while not self._stopping.is_set():
            free = self._acquire_free()
            if not free:
                continue
            try:
                with self.store.unit() as repos:
                    claimed = repos.work.claim_work(
                        self.queue.worker_id, self.queue.group, free, self.queue.lease
                    )
            except Exception as exc:  # the database may be away for a while
                log.warning("claiming work failed (%s); retrying", exc)
                claimed = []
                self._stopping.wait(1.0)
            for _ in range(free - len(claimed)):
                self._free.release()
            for work in claimed:
                self._start(work)
            if not claimed:
                self._stopping.wait(self.queue.poll)

    def _acquire_free(self) -> int:
        """Wait for one free slot, then take every other free one: how many to claim."""
        if not self._free.acquire(timeout=0.2):
            return 0
        free = 1
        while self._free.acquire(blocking=False):
            free += 1
        return free

    def _start(self, work: ClaimedWork) -> None:
        self._pool.submit(work.id, functools.partial(self._run, work), self._release)

    def _run(self, work: ClaimedWork, cancel: CancelEvent) -> None:
        """Run the attempt and record its result, its lease renewed all the while."""
        try:
            result = self._attempt(work, cancel)
            self._complete(work.id, result_to_json(result))
        except Exception:
            log.exception("attempt %s failed in the worker", work.id)

    def _release(self, _: None) -> None:
        self._free.release()

    def _attempt(self, work: ClaimedWork, cancel: CancelEvent) -> AttemptResult:
        payload = work.payload
        try:
            task = self._task(payload)
        except Exception as exc:
            moment = now()
            return AttemptResult(
                payload["taskRunId"], payload["attempt"], State.FAILED, moment, moment,
                error=f"the worker could not load task {payload.get('taskId')!r}: {exc}",
            )  # fmt: skip
        return self._pool.attempt(item_from_json(payload, task), cancel)

    def _task(self, payload: dict[str, Any]) -> TaskSpec:
        key = (payload["namespace"], payload["flowId"], int(payload["flowRevision"]))
        flows = flow_cache(self.store)
        try:
            with self.store.unit(read_only=True) as repos:
                flow = flows.read(repos, *key)
        except FlowInvalid:
            raise LookupError(f"flow {key[0]}/{key[1]} revision {key[2]} is not valid") from None
        if flow is None:
            raise LookupError(f"flow {key[0]}/{key[1]} revision {key[2]} is gone")
        return flows.plan(flow, key[2]).tasks[payload["taskId"]]

    def _complete(self, work_id: str, result: dict[str, Any]) -> None:
        """Record the result, retrying while the database is away."""
        while True:
            try:
                with self.store.unit() as repos:
                    accepted = repos.work.complete_work(work_id, self.queue.worker_id, result)
            except StoreUnavailable:
                log.warning("recording the result of %s failed; retrying", work_id)
                time.sleep(1.0)
                continue
            if accepted:
                self.completed += 1
            else:
                log.warning("the lease on %s was lost: its result is dropped", work_id)
            return

    # -- leases ---------------------------------------------------------------------------------
    def _renew(self) -> None:
        # Often enough that a kill reaches a running attempt within half a second.
        interval = min(self.queue.lease.total_seconds() / 4, KILL_CHECK)
        while not self._finished.wait(interval):
            ids = self._pool.keys()
            if not ids:
                continue
            try:
                with self.store.unit() as repos:
                    held, kill = repos.work.renew_work(self.queue.worker_id, ids, self.queue.lease)
            except Exception as exc:
                log.warning("renewing leases failed (%s); retrying", exc)
                continue
            for work_id in ids:
                if work_id in kill or work_id not in held:
                    self._pool.cancel(work_id)
