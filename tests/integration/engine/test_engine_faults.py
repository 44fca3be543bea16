"""A step that fails with an unexpected error loses no event: it is applied again, and an event
that fails every time ends its own execution FAILED without holding back the others."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from controlplane.engine.engine import Engine
from controlplane.engine.model import Execution, State, TaskRun
from controlplane.store import SqlStore, StoreSettings, open_store
from tests.conftest import EngineFactory
from tests.waiting import wait_while_advancing

FLOW = (
    "id: one\nnamespace: faults\ntasks:\n"
    "  - id: t\n    type: io.kestra.plugin.core.debug.Return\n    format: done\n"
)
Fault = Callable[[Execution, list[TaskRun]], bool]


class _FailingExecutions:
    """The store's execution repository, failing the writes ``fault`` picks."""

    def __init__(self, inner: Any, fault: Fault, failures: list[str]) -> None:
        self._inner = inner
        self._fault = fault
        self._failures = failures

    def update_execution(
        self,
        execution: Execution,
        changed: Iterable[TaskRun],
        removed: Iterable[str] = (),
        *,
        row: bool = True,
    ) -> None:
        runs = list(changed)
        if self._fault(execution, runs):
            self._failures.append(execution.id)
            raise RuntimeError(f"writing execution {execution.id} broke")
        self._inner.update_execution(execution, runs, removed, row=row)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _FaultyStore:
    """A real SQLite store whose execution writes fail when ``fault`` says so."""

    def __init__(self, store: SqlStore, fault: Fault) -> None:
        self._store = store
        self._fault = fault
        self.failures: list[str] = []
        self.files = store.files

    @contextmanager
    def unit(self, read_only: bool = False) -> Iterator[Any]:
        with self._store.unit(read_only) as repos:
            executions = _FailingExecutions(repos.executions, self._fault, self.failures)
            yield dataclasses.replace(repos, executions=executions)

    def ping(self) -> None:
        self._store.ping()

    def close(self) -> None:
        self._store.close()


@contextmanager
def _engine(
    engines: EngineFactory, tmp_path: Path, fault: Fault
) -> Iterator[tuple[_FaultyStore, Engine]]:
    real = open_store(StoreSettings(home=tmp_path))
    with real.unit() as repos:
        repos.flows.create_flow_revision("faults", "one", FLOW, None)
    store = _FaultyStore(real, fault)
    try:
        with engines.running(store, tmp_path / "work", concurrency=2) as (_, engine):
            yield store, engine
    finally:
        real.close()


def _wait_over(engine: Engine, *execution_ids: str) -> list[Execution]:
    def snapshot() -> list[tuple[State, tuple[State, ...]]]:
        found = [engine.read(i) for i in execution_ids]
        return [(e.state, tuple(r.state for r in e.task_runs)) for e in found]

    wait_while_advancing(
        snapshot,
        lambda states: all(state.terminal for state, _ in states),
        f"executions {execution_ids} to end",
    )
    return [engine.read(i) for i in execution_ids]


def _succeeded(execution: Execution, runs: list[TaskRun]) -> bool:
    return any(run.state is State.SUCCESS for run in runs)


def test_a_result_whose_step_fails_once_is_applied_again(
    tmp_path: Path, engine_factory: EngineFactory
) -> None:
    failed_once: list[str] = []

    def once(execution: Execution, runs: list[TaskRun]) -> bool:
        if _succeeded(execution, runs) and not failed_once:
            failed_once.append(execution.id)
            return True
        return False

    with _engine(engine_factory, tmp_path, once) as (store, engine):
        execution = engine.create_execution("faults", "one")
        (final,) = _wait_over(engine, execution.id)
    assert store.failures == [execution.id]
    assert final.state is State.SUCCESS
    assert [(r.task_id, r.state) for r in final.task_runs] == [("t", State.SUCCESS)]


def test_an_event_that_always_fails_ends_its_execution_failed_and_spares_the_others(
    tmp_path: Path, engine_factory: EngineFactory
) -> None:
    def poison(execution: Execution, runs: list[TaskRun]) -> bool:
        return execution.labels.get("case") == "poison" and _succeeded(execution, runs)

    with _engine(engine_factory, tmp_path, poison) as (store, engine):
        bad = engine.create_execution("faults", "one", labels={"case": "poison"})
        good = [engine.create_execution("faults", "one") for _ in range(3)]
        final_bad, *final_good = _wait_over(engine, bad.id, *(e.id for e in good))
        after = engine.create_execution("faults", "one")
        (final_after,) = _wait_over(engine, after.id)
        with store.unit(read_only=True) as repos:
            logs = [entry.message for _, entry in repos.logs.list_logs(bad.id)]
    assert bad.id in store.failures
    assert final_bad.state is State.FAILED
    assert [r.state for r in final_bad.task_runs] == [State.FAILED]
    assert any(f"writing execution {bad.id} broke" in message for message in logs)
    assert [e.state for e in final_good] == [State.SUCCESS] * 3
    assert final_after.state is State.SUCCESS


@pytest.fixture(autouse=True)
def _quiet_engine_errors(caplog: pytest.LogCaptureFixture) -> None:
    """The engine logs each failed step with its traceback; that is expected here."""
    caplog.set_level("CRITICAL", logger="controlplane.engine")
