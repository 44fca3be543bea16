"""Executors and workers as separate parts on one PostgreSQL: the work queue, leases, worker
groups, and what happens when a worker stops answering."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest

from controlplane.engine.attempt_context import WorkerSettings
from controlplane.engine.engine import Engine
from controlplane.engine.model import Execution, State
from controlplane.engine.queue_worker import QueueSettings, QueueWorker
from controlplane.store import SqlStore, StoreSettings, open_store
from tests.conftest import EngineFactory
from tests.postgres import PostgresServer, pg_ctl, postgres_bindir, start_server, stop_server
from tests.waiting import executions_progress, wait_until, wait_while_advancing

LEASE = timedelta(seconds=2)

FLOWS = {
    "two": """
id: two
namespace: shared
tasks:
  - id: first
    type: io.kestra.plugin.core.debug.Return
    format: "{{ execution.id }}"
  - id: fan
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: a
        type: io.kestra.plugin.core.debug.Return
        format: a
      - id: b
        type: io.kestra.plugin.core.debug.Return
        format: b
""",
    "gpu": """
id: gpu
namespace: shared
tasks:
  - id: anywhere
    type: io.kestra.plugin.core.debug.Return
    format: here
  - id: on_gpu
    type: io.kestra.plugin.core.debug.Return
    format: gpu
    workerGroup:
      key: gpu
""",
    "once": """
id: once
namespace: shared
tasks:
  - id: only
    type: io.kestra.plugin.core.debug.Return
    format: once
""",
    "retried": """
id: retried
namespace: shared
tasks:
  - id: only
    type: io.kestra.plugin.core.debug.Return
    format: again
    retry:
      type: constant
      interval: PT0.1S
      maxAttempts: 3
""",
    "slow": """
id: slow
namespace: shared
tasks:
  - id: wait
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - sleep 2
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: done
""",
    "parent": """
id: parent
namespace: shared
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: shared
    flowId: once
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.call.executionId }}"
""",
}


class Cluster:
    """Executors and workers started at will on one PostgreSQL, and an engine that only
    records commands (as the API does) to start executions."""

    def __init__(self, settings: StoreSettings, stack: ExitStack, engines: EngineFactory) -> None:
        self.settings = settings
        self.stack = stack
        self.engines = engines
        self.store = self._store()
        self.api = engines.remote(self.store, self.settings.home / "work")

    def _store(self) -> SqlStore:
        store = open_store(self.settings)
        self.stack.callback(store.close)
        return store

    def executor(self, name: str) -> Engine:
        work = self.settings.home / "work"
        engine = self.engines.build(self._store(), work, executor_id=name, lease=LEASE)
        engine.start()
        self.stack.callback(engine.stop, 1.0)
        return engine

    def worker(self, name: str, group: str | None = None) -> QueueWorker:
        worker = QueueWorker(
            self._store(),
            WorkerSettings(temp_root=self.settings.home / "work"),
            QueueSettings(worker_id=name, group=group, concurrency=4, lease=LEASE),
        )
        worker.start()
        self.stack.callback(worker.stop, 1.0)
        return worker

    def start(self, flow_id: str) -> str:
        return self.api.create_execution("shared", flow_id).id

    def read(self, execution_id: str) -> Execution:
        with self.store.unit(read_only=True) as repos:
            execution = repos.executions.read_execution(execution_id)
        assert execution is not None
        return execution

    def until(self, check: Callable[[], bool], what: str) -> None:
        """Wait for ``check`` while the cluster advances (its queue, its executions' states)."""
        wait_until(check, what=what, progress=self.progress)

    def ended(self, execution_id: str) -> Execution:
        return wait_until(
            lambda: self.read(execution_id),
            lambda execution: execution.state.terminal,
            f"{execution_id} to end",
            progress=self.progress,
        )

    def progress(self) -> object:
        return self.queue(), executions_progress(self.store)

    def queue(self) -> dict[str, int]:
        with self.store.unit(read_only=True) as repos:
            return repos.work.count_work()


@pytest.fixture
def cluster(postgres_url: str, tmp_path: Path, engine_factory: EngineFactory) -> Iterator[Cluster]:
    settings = StoreSettings(home=tmp_path, database_url=postgres_url, secret_key=os.urandom(32))
    with ExitStack() as stack:
        running = Cluster(settings, stack, engine_factory)
        with running.store.unit() as repos:
            for flow_id, source in FLOWS.items():
                repos.flows.create_flow_revision("shared", flow_id, source.lstrip(), None)
        yield running


def test_executions_run_across_two_executors_and_two_workers(cluster: Cluster) -> None:
    for name in ("executor-1", "executor-2"):
        cluster.executor(name)
    workers = [cluster.worker("worker-1"), cluster.worker("worker-2")]
    started = [cluster.start("two") for _ in range(30)] + [
        cluster.start("parent") for _ in range(10)
    ]
    for execution_id in started:
        execution = cluster.ended(execution_id)
        assert execution.state is State.SUCCESS, execution.error
        assert all(len(run.attempts) <= 1 for run in execution.task_runs)
    two = cluster.read(started[0])
    assert sorted(run.task_id for run in two.task_runs) == ["a", "b", "fan", "first"]
    parent = cluster.read(started[-1])
    child = cluster.read(parent.task_runs[0].outputs["executionId"])
    assert (child.flow_id, child.state) == ("once", State.SUCCESS)
    assert parent.task_runs[1].outputs["value"] == child.id
    assert cluster.queue() == {}  # every result applied and removed
    assert all(worker.completed > 0 for worker in workers)  # both took a share


def test_a_worker_group_task_runs_only_on_a_worker_of_its_group(cluster: Cluster) -> None:
    cluster.executor("executor")
    cluster.worker("plain")
    execution_id = cluster.start("gpu")
    cluster.until(
        lambda: (
            [run.task_id for run in cluster.read(execution_id).task_runs] == ["anywhere", "on_gpu"]
        ),
        "the first task to succeed and the gpu task to be queued",
    )
    execution = cluster.read(execution_id)
    assert {run.task_id: run.state for run in execution.task_runs} == {
        "anywhere": State.SUCCESS,
        "on_gpu": State.CREATED,
    }
    assert cluster.queue() == {"queued": 1}
    with cluster.store.unit() as repos:  # a worker without a group is never given it
        assert repos.work.claim_work("plain-2", None, 10, LEASE) == []
    gpu = cluster.worker("gpu-1", group="gpu")
    assert cluster.ended(execution_id).state is State.SUCCESS
    assert gpu.completed == 1


def _lose_the_worker(cluster: Cluster, flow_id: str) -> str:
    """Start ``flow_id`` and let a worker that then dies claim its task: it never renews."""
    cluster.executor("executor")
    execution_id = cluster.start(flow_id)
    cluster.until(lambda: cluster.queue() == {"queued": 1}, "the task to be queued")
    with cluster.store.unit() as repos:
        (claimed,) = repos.work.claim_work("dead-worker", None, 1, timedelta(seconds=1))
    assert claimed.payload["taskId"] == "only"
    return execution_id


def test_a_task_whose_worker_died_fails_when_it_has_no_retry(cluster: Cluster) -> None:
    execution_id = _lose_the_worker(cluster, "once")
    execution = cluster.ended(execution_id)
    assert execution.state is State.FAILED
    (run,) = execution.task_runs
    assert [attempt.state for attempt in run.attempts] == [State.FAILED]
    assert "stopped renewing its lease" in (run.attempts[0].error or "")
    with cluster.store.unit() as repos:  # its late result is refused
        assert not repos.work.complete_work(f"{run.id}:1", "dead-worker", {"state": "SUCCESS"})
    assert cluster.read(execution_id).state is State.FAILED


def test_a_task_whose_worker_died_runs_again_by_its_retry_policy(cluster: Cluster) -> None:
    execution_id = _lose_the_worker(cluster, "retried")
    cluster.worker("worker")
    execution = cluster.ended(execution_id)
    assert execution.state is State.SUCCESS
    (run,) = execution.task_runs
    assert [attempt.state for attempt in run.attempts] == [State.FAILED, State.SUCCESS]


def test_a_stopped_executor_hands_its_executions_to_another(cluster: Cluster) -> None:
    first = cluster.executor("executor-1")
    execution_id = cluster.start("parent")
    cluster.until(lambda: cluster.queue() == {"queued": 1}, "the child's task to be queued")
    first.stop(1.0)
    cluster.executor("executor-2")
    cluster.worker("worker")
    execution = cluster.ended(execution_id)
    assert execution.state is State.SUCCESS
    assert cluster.read(execution.task_runs[0].outputs["executionId"]).state is State.SUCCESS


@pytest.fixture
def own_database() -> Iterator[PostgresServer]:
    """A PostgreSQL of this test's own, to stop and start again."""
    server = start_server(postgres_bindir())
    try:
        yield server
    finally:
        stop_server(server)


def test_an_executor_cut_off_longer_than_its_lease_carries_on(
    own_database: PostgresServer, tmp_path: Path, engine_factory: EngineFactory
) -> None:
    """Every lease lapses while the database is away; afterwards the executor carries on with
    the executions it still holds: none is stranded and no task runs twice. (Whether a worker
    starved of CPU renews in time after the outage is the machine's business, so an attempt
    settled as lost is allowed here; it must then fail, not hang.)"""
    settings = StoreSettings(
        home=tmp_path, database_url=own_database.url("postgres"), secret_key=os.urandom(32)
    )
    with ExitStack() as stack:
        cluster = Cluster(settings, stack, engine_factory)
        with cluster.store.unit() as repos:
            repos.flows.create_flow_revision("shared", "slow", FLOWS["slow"].lstrip(), None)
        cluster.executor("executor")
        cluster.worker("worker")
        started = [cluster.start("slow") for _ in range(6)]
        cluster.until(lambda: cluster.queue().get("running", 0) > 0, "an attempt to run")
        pg_ctl(own_database, "stop")
        time.sleep(2 * LEASE.total_seconds())  # the outage itself, not a wait for a result
        pg_ctl(own_database, "start")
        wait_while_advancing(
            lambda: [(e.state, [r.state for r in e.task_runs]) for e in map(cluster.read, started)],
            lambda now: all(state.terminal for state, _ in now),
            "the executions to end after the outage",
            stall=60,
        )
        executions = [cluster.read(i) for i in started]
    for execution in executions:
        assert execution.state in (State.SUCCESS, State.FAILED), execution.error
        assert all(len(run.attempts) == 1 for run in execution.task_runs), execution.id
