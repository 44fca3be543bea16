"""The server's runtime: its store, workers and engine, wired from ``ApiSettings``.

``open_runtime`` is what the API process needs (a standalone server also runs the executor, its
workers and the schedulers in the process). ``open_executor``, ``open_worker`` and
``open_scheduler`` are the parts that run apart, as many of each as needed, on one PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from controlplane.api.settings import ApiSettings
from controlplane.engine.attempt_context import WorkerSettings
from controlplane.engine.commands import Commands, EngineSettings
from controlplane.engine.engine import Engine
from controlplane.engine.ports import Store
from controlplane.engine.queue_worker import QueueSettings, QueueWorker
from controlplane.engine.remote import RemoteCommands
from controlplane.engine.variables import environment_variables
from controlplane.engine.worker import Worker
from controlplane.store import open_store


def process_id(role: str) -> str:
    """Names this process in leases: role, host, pid and a random part (pids are reused)."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def worker_settings(settings: ApiSettings) -> WorkerSettings:
    """Attempts work under ``<home>/work``; their processes never see the home nor the storage
    (only their own directories, each mounted alone)."""
    store = settings.store
    hidden = (*settings.sandbox.hidden, store.home, store.storage_root)
    sandbox = dataclasses.replace(settings.sandbox, hidden=hidden)
    return WorkerSettings(temp_root=store.home / "work", sandbox=sandbox)


def _engine_settings(settings: ApiSettings, **more: object) -> EngineSettings:
    return EngineSettings(
        work_root=settings.store.home / "work",
        envs=environment_variables(),
        **more,  # type: ignore[arg-type]
    )


@contextmanager
def open_runtime(settings: ApiSettings) -> Iterator[tuple[Store, Commands]]:
    """Open the store and, in a standalone server, start the engine, its workers and the
    schedulers.

    In the ``api`` role no engine runs here: commands are recorded for the executors in other
    processes."""
    import controlplane.tasks  # noqa: F401  (registers the task implementations)

    store = open_store(settings.store)
    try:
        if settings.role != "standalone":
            yield store, RemoteCommands(store, _engine_settings(settings))
            return
        worker = Worker(store, worker_settings(settings), concurrency=settings.worker_threads)
        engine = Engine(store, worker, _engine_settings(settings))
        engine.start()
        try:
            with _schedulers(store, engine):
                yield store, engine
        finally:
            engine.stop(settings.grace_seconds)
    finally:
        store.close()


@contextmanager
def _schedulers(store: Store, commands: Commands) -> Iterator[None]:
    """Schedule, Flow and polling triggers, firing through ``commands``."""
    from controlplane.engine.flowtriggers import FlowTriggers
    from controlplane.engine.polling import PollingTriggers
    from controlplane.engine.scheduler import TriggerScheduler

    schedules = TriggerScheduler(store, commands)
    flows = FlowTriggers(store, commands)
    polling = PollingTriggers(store, commands)
    schedules.start()
    flows.start()
    polling.start()
    try:
        yield
    finally:
        schedules.stop()
        flows.stop()
        polling.stop()


@contextmanager
def open_scheduler(settings: ApiSettings) -> Iterator[None]:
    """A scheduler sharing the database: it fires Schedule, Flow and polling triggers, and the
    executions it creates go to the executors. Two schedulers never fire the same slot, event or
    evaluation twice."""
    import controlplane.tasks  # noqa: F401

    store = open_store(settings.store)
    try:
        with _schedulers(store, RemoteCommands(store, _engine_settings(settings))):
            yield
    finally:
        store.close()


@contextmanager
def open_executor(settings: ApiSettings, lease: timedelta) -> Iterator[Engine]:
    """An executor sharing the database: it advances the executions it holds a lease on and
    queues their attempts for workers."""
    import controlplane.tasks  # noqa: F401

    store = open_store(settings.store)
    engine = Engine(
        store, None, _engine_settings(settings, executor_id=process_id("executor"), lease=lease)
    )
    try:
        engine.start()
        yield engine
    finally:
        engine.stop(settings.grace_seconds)
        store.close()


@contextmanager
def open_worker(
    settings: ApiSettings, lease: timedelta, group: str | None = None
) -> Iterator[QueueWorker]:
    """A worker sharing the database: it claims queued attempts of its group and runs them."""
    import controlplane.tasks  # noqa: F401

    store = open_store(settings.store)
    worker = QueueWorker(
        store,
        worker_settings(settings),
        QueueSettings(
            worker_id=process_id("worker"),
            group=group,
            concurrency=settings.worker_threads,
            lease=lease,
        ),
    )
    try:
        worker.start()
        yield worker
    finally:
        worker.stop(settings.grace_seconds)
        store.close()
