"""What a user does to a running engine: kill, resume, restart, concurrency limits, SLAs.

Each test drives Kestra's own test flows (loaded from the corpus) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time

import pytest

from controlplane.engine.engine import Engine
from controlplane.engine.model import State
from controlplane.engine.rules import TransitionRefused
from controlplane.store import SqlStore

NS = "io.kestra.tests"
PAUSED = frozenset({State.PAUSED})
RUNNING = frozenset({State.RUNNING})


def test_kill_stops_a_running_task_and_ends_killed(kestra_engine: tuple[SqlStore, Engine]) -> None:
    _, engine = kestra_engine
    execution = engine.create_execution(NS, "sleep")
    engine.wait(execution.id, timeout=10, until=RUNNING)
    engine.kill(execution.id)
    final = engine.wait(execution.id, timeout=10)
    assert final.state is State.KILLED
    assert [(r.task_id, r.state) for r in final.task_runs] == [("sleep", State.KILLED)]
    assert [t.state for t in final.history] == [
        State.CREATED, State.RUNNING, State.KILLING, State.KILLED,
    ]  # fmt: skip


def test_a_paused_execution_resumes_and_runs_the_pause_tasks(
    kestra_engine: tuple[SqlStore, Engine],
) -> None:
    _, engine = kestra_engine
    execution = engine.create_execution(NS, "pause")
    paused = engine.wait(execution.id, timeout=10, until=PAUSED)
    assert paused.state is State.PAUSED
    assert [(r.task_id, r.state) for r in paused.task_runs] == [("pause", State.PAUSED)]
    engine.resume(execution.id)
    final = engine.wait(execution.id, timeout=10)
    assert final.state is State.SUCCESS
    assert [r.task_id for r in final.task_runs] == ["pause", "subtask", "last"]


def test_resume_passes_on_resume_inputs_to_later_tasks(
    kestra_engine: tuple[SqlStore, Engine],
) -> None:
    _, engine = kestra_engine
    execution = engine.create_execution(NS, "pause_on_resume_optional")
    engine.wait(execution.id, timeout=10, until=PAUSED)
    engine.resume(execution.id, {"asked": "restarted"})
    final = engine.wait(execution.id, timeout=10)
    assert final.state is State.SUCCESS
    assert final.task_runs[-1].outputs["values"]["asked"] == "restarted"


def test_restart_runs_the_failed_task_again_with_the_same_execution(
    kestra_engine: tuple[SqlStore, Engine],
) -> None:
    _, engine = kestra_engine
    execution = engine.create_execution(NS, "restart_always_failed")
    first = engine.wait(execution.id, timeout=10)
    assert (first.state, [r.task_id for r in first.task_runs]) == (
        State.FAILED, ["failStep", "errorHandler"],
    )  # fmt: skip
    engine.restart(execution.id)
    deadline = time.monotonic() + 10
    final = engine.wait(execution.id, timeout=10)
    while State.RESTARTED not in [t.state for t in final.history] and time.monotonic() < deadline:
        final = engine.wait(execution.id, timeout=0.05, until=frozenset({State.RESTARTED}))
    final = engine.wait(execution.id, timeout=10)
    assert final.id == execution.id
    assert [r.task_id for r in final.task_runs] == ["failStep", "errorHandler"]
    assert len(final.task_runs[0].attempts) == 2
    assert State.RESTARTED in [t.state for t in final.history]


def test_only_a_failed_execution_can_be_restarted(kestra_engine: tuple[SqlStore, Engine]) -> None:
    _, engine = kestra_engine
    execution = engine.create_execution(NS, "minimal")
    engine.wait(execution.id, timeout=10)
    with pytest.raises(TransitionRefused, match="only a FAILED or KILLED execution"):
        engine.restart(execution.id)


@pytest.mark.parametrize(
    ("flow_id", "second_history"),
    [
        ("flow-concurrency-queue", [State.CREATED, State.QUEUED, State.RUNNING, State.SUCCESS]),
        ("flow-concurrency-cancel", [State.CREATED, State.CANCELLED]),
        ("flow-concurrency-fail", [State.CREATED, State.FAILED]),
    ],
)
def test_concurrency_limit_queues_cancels_or_fails_the_next_execution(
    kestra_engine: tuple[SqlStore, Engine], flow_id: str, second_history: list[State]
) -> None:
    _, engine = kestra_engine
    first = engine.create_execution(NS, flow_id)
    engine.wait(first.id, timeout=10, until=RUNNING)
    second = engine.create_execution(NS, flow_id)
    assert engine.wait(first.id, timeout=20).state is State.SUCCESS
    final = engine.wait(second.id, timeout=20)
    assert [t.state for t in final.history] == second_history


def test_max_duration_sla_fails_an_execution_that_runs_too_long(
    kestra_engine: tuple[SqlStore, Engine],
) -> None:
    _, engine = kestra_engine
    execution = engine.create_execution(NS, "sla-max-duration-fail")
    final = engine.wait(execution.id, timeout=10)
    assert final.state is State.FAILED
    took = (final.history[-1].at - final.history[0].at).total_seconds()
    assert took < 1.5  # the PT2S sleep was stopped at the PT0.5S deadline


@pytest.mark.parametrize(
    "flow_id",
    [
        "retry-new-execution-flow-attempts",
        "retry-new-execution-flow-duration",
        "retry-new-execution-task-attempts",
        "retry-new-execution-task-duration",
    ],
)
def test_create_new_execution_retries_chain_three_executions(
    kestra_engine: tuple[SqlStore, Engine], flow_id: str
) -> None:
    store, engine = kestra_engine
    first = engine.create_execution(NS, flow_id)
    deadline = time.monotonic() + 20
    chain: list[State] = []
    while time.monotonic() < deadline:
        with store.unit() as repos:
            runs = repos.executions.list_executions(NS, flow_id, limit=10)
        chain = [e.state for e in runs if (e.original_id or e.id) == first.id]
        if len(chain) == 3 and all(state.terminal for state in chain):
            break
        time.sleep(0.1)
    assert sorted(chain) == sorted([State.RETRIED, State.RETRIED, State.FAILED])
