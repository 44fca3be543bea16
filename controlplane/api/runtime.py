"""The server's runtime: its store, workers and engine, wired from ``ApiSettings``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from controlplane.api.settings import ApiSettings
from controlplane.engine.engine import Engine, EngineSettings
from controlplane.engine.ports import Store
from controlplane.engine.variables import environment_variables
from controlplane.engine.worker import Worker, WorkerSettings
from controlplane.store import open_store


@contextmanager
def open_runtime(
    settings: ApiSettings, poll_commands: float | None = None
) -> Iterator[tuple[Store, Engine]]:
    """Open the store and, in a standalone server, start the engine and its workers.

    In the ``api`` role the engine is not started: it records commands for executors in other
    processes, which take them every ``poll_commands`` seconds."""
    import controlplane.tasks  # noqa: F401  (registers the task implementations)

    store = open_store(settings.store)
    work_root = settings.store.home / "work"
    worker = Worker(store, WorkerSettings(temp_root=work_root), concurrency=settings.worker_threads)
    engine = Engine(
        store,
        worker,
        EngineSettings(
            work_root=work_root,
            envs=environment_variables(),
            remote=settings.role == "api",
            poll_commands=poll_commands,
        ),
    )
    standalone = settings.role == "standalone"
    try:
        if standalone:
            engine.start()
        yield store, engine
    finally:
        if standalone:
            engine.stop(settings.grace_seconds)
        store.close()
