"""The embedded runtime: store, worker and engine in this process, wired from the environment."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from controlplane.engine.attempt_context import WorkerSettings
from controlplane.engine.engine import Engine, EngineSettings
from controlplane.engine.ports import FlowRecord, Store
from controlplane.engine.sandbox import SandboxSettings
from controlplane.engine.variables import environment_variables
from controlplane.engine.worker import Worker
from controlplane.engine.writes import WriteIntent, save_flow
from controlplane.spec.problems import FlowInvalid
from controlplane.spec.validate import validate_text
from controlplane.store import StoreSettings, open_store


@contextmanager
def embedded(worker_threads: int = 8) -> Iterator[tuple[Store, Engine]]:
    """Open the store under ``WEIR_HOME`` (or ``WEIR_DATABASE_URL``) and start an engine on it."""
    import controlplane.tasks  # noqa: F401  (registers the task implementations)

    settings = StoreSettings.from_env(os.environ)
    store = open_store(settings)
    work_root = settings.home / "work"
    sandbox = SandboxSettings.from_env(os.environ, hidden=(settings.home, settings.storage_root))
    worker = Worker(
        store, WorkerSettings(temp_root=work_root, sandbox=sandbox), concurrency=worker_threads
    )
    engine = Engine(
        store, worker, EngineSettings(work_root=work_root, envs=environment_variables())
    )
    engine.start()
    try:
        yield store, engine
    finally:
        engine.stop()
        store.close()


def save_flow_files(paths: Sequence[Path], store: Store) -> list[FlowRecord]:
    """Validate and save flow files (a new revision when changed); refuses any invalid one."""
    records = []
    for path in paths:
        source = path.read_text(encoding="utf-8")
        result = validate_text(source, str(path))
        if not result.ok or result.flow is None:
            raise FlowInvalid(result.problems)
        with store.unit() as repos:
            # A local run takes the file as it is: no manager, whoever managed the flow before.
            records.append(save_flow(repos, result.flow, source, _LOCAL).saved)
    return records


_LOCAL = WriteIntent(manager=None, force=True)
