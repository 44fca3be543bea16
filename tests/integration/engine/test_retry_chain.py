"""A CREATE_NEW_EXECUTION retry chain is durable: the next execution is stored (scheduled) when the
failed one ends, so an engine that stops meanwhile loses no retry."""

from __future__ import annotations

from pathlib import Path

import controlplane.tasks  # noqa: F401  (registers the task implementations)
from controlplane.engine.attempt_context import WorkerSettings
from controlplane.engine.engine import Engine, EngineSettings
from controlplane.engine.model import Execution, State
from controlplane.engine.worker import Worker
from controlplane.store import SqlStore, StoreSettings, open_store

FLOW = """id: flaky
namespace: chain
retry:
  type: constant
  behavior: CREATE_NEW_EXECUTION
  interval: PT2S
  maxAttempts: 2
tasks:
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
"""


def _engine(store: SqlStore, home: Path) -> Engine:
    worker = Worker(store, WorkerSettings(temp_root=home / "work"), concurrency=2)
    engine = Engine(store, worker, EngineSettings(work_root=home / "work"))
    engine.start()
    return engine


def _chain(store: SqlStore) -> list[Execution]:
    with store.unit(read_only=True) as repos:
        return sorted(
            repos.executions.list_executions("chain", "flaky", limit=10), key=lambda e: e.attempt
        )


def test_the_next_execution_of_a_chain_starts_after_a_restart(tmp_path: Path) -> None:
    store = open_store(StoreSettings(home=tmp_path))
    try:
        with store.unit() as repos:
            repos.flows.create_flow_revision("chain", "flaky", FLOW, None)
        first_engine = _engine(store, tmp_path)
        first = first_engine.create_execution("chain", "flaky")
        assert first_engine.wait(first.id, timeout=30).state is State.RETRIED
        first_engine.stop(1.0)  # before the retry's time: nothing of it lives in memory only
        waiting = _chain(store)
        assert [(e.attempt, e.state) for e in waiting] == [(1, State.RETRIED), (2, State.CREATED)]
        (ended, scheduled) = waiting
        assert scheduled.scheduled is not None and scheduled.original_id == first.id
        assert (scheduled.scheduled - ended.history[-1].at).total_seconds() >= 1.9

        second_engine = _engine(store, tmp_path)
        try:
            assert second_engine.wait(scheduled.id, timeout=30).state is State.FAILED
        finally:
            second_engine.stop(1.0)
        started = next(t.at for t in _chain(store)[1].history if t.state is State.RUNNING)
        assert started >= scheduled.scheduled  # it waited for its time
    finally:
        store.close()
