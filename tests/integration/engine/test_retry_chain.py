"""A CREATE_NEW_EXECUTION retry chain is durable: the next execution is stored (scheduled) when the
failed one ends, so an engine that stops meanwhile loses no retry."""

from __future__ import annotations

from pathlib import Path

from controlplane.engine.model import Execution, State
from controlplane.store import SqlStore, StoreSettings, open_store
from tests.conftest import EngineFactory
from tests.waiting import ended

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


def _chain(store: SqlStore) -> list[Execution]:
    with store.unit(read_only=True) as repos:
        return sorted(
            repos.executions.list_executions("chain", "flaky", limit=10), key=lambda e: e.attempt
        )


def test_the_next_execution_of_a_chain_starts_after_a_restart(
    tmp_path: Path, engine_factory: EngineFactory
) -> None:
    store = open_store(StoreSettings(home=tmp_path))
    work = tmp_path / "work"
    try:
        with store.unit() as repos:
            repos.flows.create_flow_revision("chain", "flaky", FLOW, None)
        # The first engine stops before the retry's time: nothing of it lives in memory only.
        with engine_factory.running(store, work, concurrency=2, grace_seconds=1.0) as (_, engine):
            first = engine.create_execution("chain", "flaky")
            assert ended(engine, first.id).state is State.RETRIED
        waiting = _chain(store)
        assert [(e.attempt, e.state) for e in waiting] == [(1, State.RETRIED), (2, State.CREATED)]
        (failed, scheduled) = waiting
        assert scheduled.scheduled is not None and scheduled.original_id == first.id
        assert (scheduled.scheduled - failed.history[-1].at).total_seconds() >= 1.9

        with engine_factory.running(store, work, concurrency=2, grace_seconds=1.0) as (_, engine):
            assert ended(engine, scheduled.id).state is State.FAILED
        started = next(t.at for t in _chain(store)[1].history if t.state is State.RUNNING)
        assert started >= scheduled.scheduled  # it waited for its time
    finally:
        store.close()
