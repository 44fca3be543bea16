"""What a user does to a running engine: kill, resume, restart, concurrency limits, SLAs.

Each test drives Kestra's own test flows (loaded from the corpus) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from controlplane.engine.engine import Engine
from controlplane.engine.model import Execution, State
from controlplane.engine.rules import TransitionRefused
from controlplane.store import SqlStore
from tests.waiting import ended, over, wait_until

NS = "io.kestra.tests"
PAUSED = frozenset({State.PAUSED})
RUNNING = frozenset({State.RUNNING})


def restarted(execution: Execution) -> bool:
    return State.RESTARTED in [t.state for t in execution.history]


def test_kill_stops_a_running_task_and_ends_killed(kestra_engine: tuple[SqlStore, Engine]) -> None:
    _, engine = kestra_engine
    execution = engine.create_execution(NS, "sleep")
    ended(engine, execution.id, RUNNING)
    engine.kill(execution.id)
    final = ended(engine, execution.id)
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
    paused = ended(engine, execution.id, PAUSED)
    assert paused.state is State.PAUSED
    assert [(r.task_id, r.state) for r in paused.task_runs] == [("pause", State.PAUSED)]
    engine.resume(execution.id)
    final = ended(engine, execution.id)
    assert final.state is State.SUCCESS
    assert [r.task_id for r in final.task_runs] == ["pause", "subtask", "last"]


def test_resume_passes_on_resume_inputs_to_later_tasks(
    kestra_engine: tuple[SqlStore, Engine],
) -> None:
    _, engine = kestra_engine
    execution = engine.create_execution(NS, "pause_on_resume_optional")
    ended(engine, execution.id, PAUSED)
    engine.resume(execution.id, {"asked": "restarted"})
    final = ended(engine, execution.id)
    assert final.state is State.SUCCESS
    assert final.task_runs[-1].outputs["values"]["asked"] == "restarted"


def test_restart_runs_the_failed_task_again_with_the_same_execution(
    kestra_engine: tuple[SqlStore, Engine],
) -> None:
    _, engine = kestra_engine
    execution = engine.create_execution(NS, "restart_always_failed")
    first = ended(engine, execution.id)
    assert (first.state, [r.task_id for r in first.task_runs]) == (
        State.FAILED, ["failStep", "errorHandler"],
    )  # fmt: skip
    engine.restart(execution.id)
    final = ended(engine, execution.id, done=lambda e: over(e) and restarted(e))
    assert final.id == execution.id
    assert [r.task_id for r in final.task_runs] == ["failStep", "errorHandler"]
    assert len(final.task_runs[0].attempts) == 2
    assert State.RESTARTED in [t.state for t in final.history]


def test_only_a_failed_execution_can_be_restarted(kestra_engine: tuple[SqlStore, Engine]) -> None:
    _, engine = kestra_engine
    execution = engine.create_execution(NS, "minimal")
    ended(engine, execution.id)
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
    ended(engine, first.id, RUNNING)
    second = engine.create_execution(NS, flow_id)
    assert ended(engine, first.id).state is State.SUCCESS
    final = ended(engine, second.id)
    assert [t.state for t in final.history] == second_history


def test_max_duration_sla_fails_an_execution_that_runs_too_long(
    kestra_engine: tuple[SqlStore, Engine],
) -> None:
    _, engine = kestra_engine
    execution = engine.create_execution(NS, "sla-max-duration-fail")
    final = ended(engine, execution.id)
    assert final.state is State.FAILED
    # The PT2S sleep was stopped at the PT0.5S deadline, not left to finish.
    assert [(r.task_id, r.state) for r in final.task_runs] == [("sleep", State.KILLED)]


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

    def chain() -> list[State]:
        with store.unit() as repos:
            runs = repos.executions.list_executions(NS, flow_id, limit=10)
        return [e.state for e in runs if (e.original_id or e.id) == first.id]

    states = wait_until(
        chain, lambda seen: len(seen) == 3 and all(s.terminal for s in seen), "the retry chain"
    )
    assert sorted(states) == sorted([State.RETRIED, State.RETRIED, State.FAILED])
