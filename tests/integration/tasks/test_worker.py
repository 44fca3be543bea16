"""The Worker pool: results through on_done, kills, shutdown with a grace period."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from controlplane.engine.model import State
from controlplane.engine.work import AttemptResult
from controlplane.engine.worker import Worker
from tests.integration.tasks.conftest import Runner
from tests.waiting import wait_until

SLEEP = "io.kestra.plugin.core.flow.Sleep"


class _Results:
    def __init__(self) -> None:
        self.items: dict[str, AttemptResult] = {}
        self._cond = threading.Condition()

    def __call__(self, result: AttemptResult) -> None:
        with self._cond:
            self.items[result.task_run_id] = result
            self._cond.notify_all()

    def wait_for(self, count: int) -> dict[str, AttemptResult]:
        """The results once ``count`` came, waiting while more come."""
        return wait_until(self._copy, lambda found: len(found) >= count, f"{count} results")

    def _copy(self) -> dict[str, AttemptResult]:
        with self._cond:
            return dict(self.items)


@pytest.fixture
def worker(runner: Runner) -> Iterator[Worker]:
    pool = Worker(runner.store, runner.settings, concurrency=4)
    yield pool
    pool.shutdown(grace_seconds=0)


def test_every_submitted_item_reports_its_result(runner: Runner, worker: Worker) -> None:
    results = _Results()
    items = [
        runner.item({"id": f"r{i}", "type": "io.kestra.plugin.core.debug.Return", "format": f"{i}"})
        for i in range(50)
    ]
    for item in items:
        worker.submit(item, results)
    done = results.wait_for(50)
    assert {done[i.task_run_id].outputs["value"] for i in items} == {str(i) for i in range(50)}


def test_kill_stops_a_running_attempt(runner: Runner, worker: Worker) -> None:
    results = _Results()
    item = runner.item({"id": "s", "type": SLEEP, "duration": "PT60S"})
    worker.submit(item, results)
    time.sleep(0.2)
    assert worker.kill(item.task_run_id)
    assert results.wait_for(1)[item.task_run_id].state is State.KILLED
    assert not worker.kill(item.task_run_id)


def test_kill_of_a_queued_item_never_runs_it(runner: Runner, worker: Worker) -> None:
    results = _Results()
    blockers = [runner.item({"id": "s", "type": SLEEP, "duration": "PT60S"}) for _ in range(4)]
    queued = runner.item({"id": "l", "type": "io.kestra.plugin.core.log.Log", "message": "ran"})
    for item in [*blockers, queued]:
        worker.submit(item, results)
    assert worker.kill(queued.task_run_id)
    for item in blockers:
        worker.kill(item.task_run_id)
    done = results.wait_for(5)
    assert done[queued.task_run_id].state is State.KILLED
    assert "ran" not in runner.messages(done[queued.task_run_id])


def test_shutdown_lets_short_tasks_finish_and_kills_long_ones(runner: Runner) -> None:
    worker = Worker(runner.store, runner.settings, concurrency=2)
    results = _Results()
    short = runner.item({"id": "s", "type": SLEEP, "duration": "PT0.2S"})
    long = runner.item({"id": "l", "type": SLEEP, "duration": "PT60S"})
    worker.submit(short, results)
    worker.submit(long, results)
    started = time.monotonic()
    worker.shutdown(grace_seconds=1)
    assert time.monotonic() - started < 5
    done = results.wait_for(2)
    assert done[short.task_run_id].state is State.SUCCESS
    assert done[long.task_run_id].state is State.KILLED
    with pytest.raises(RuntimeError, match="shut down"):
        worker.submit(short, results)
