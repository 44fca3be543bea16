"""Executions and task runs: what the engine saves after each step, and reads back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controlplane.engine.model import Attempt, Execution, ParentRef, State, TaskRun, new_id
from controlplane.store import MissingRecordError, SqlStore

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def execution(
    namespace: str = "company.team", flow_id: str = "hello", started: datetime = T0
) -> Execution:
    run = Execution(id=new_id(), namespace=namespace, flow_id=flow_id, flow_revision=3)
    run.history[0].at = started
    return run


def task_run(task_id: str) -> TaskRun:
    return TaskRun(id=new_id(), task_id=task_id)


def test_execution_round_trips_with_its_task_runs_in_creation_order(store: SqlStore) -> None:
    run = execution()
    run.inputs = {"date": "2025-03-01", "nested": {"list": [1, 2.5, None, "é"]}}
    run.labels = {"team": "data"}
    run.trigger = {"type": "schedule"}
    run.parent = ParentRef("parent-id", "parent-run", "company", "main")
    run.scheduled = T0
    with store.unit() as repos:
        repos.executions.create_execution(run)
    with store.unit() as repos:
        for task_id in ("z_first", "a_second", "m_third"):
            new = task_run(task_id)
            new.attempts.append(Attempt(State.RUNNING, T0))
            new.outputs = {"value": task_id}
            run.task_runs.append(new)
            repos.executions.update_execution(run, [new])
        run.task_runs[0].transition(State.SUCCESS, T0 + timedelta(seconds=5))
        run.transition(State.RUNNING, T0 + timedelta(seconds=1))
        repos.executions.update_execution(run, [run.task_runs[0]])
    with store.unit() as repos:
        read = repos.executions.read_execution(run.id)
    assert read is not None
    assert [r.task_id for r in read.task_runs] == ["z_first", "a_second", "m_third"]
    assert read.to_dict() == run.to_dict()
    assert read.task_runs[0].state is State.SUCCESS


def test_only_the_task_runs_passed_as_changed_are_written(store: SqlStore) -> None:
    run = execution()
    run.task_runs = [task_run("a"), task_run("b")]
    with store.unit() as repos:
        repos.executions.create_execution(run)
    run.task_runs[0].transition(State.RUNNING)
    run.task_runs[1].transition(State.RUNNING)
    with store.unit() as repos:
        repos.executions.update_execution(run, [run.task_runs[1]])
    with store.unit() as repos:
        read = repos.executions.read_execution(run.id, for_update=True)
    assert read is not None
    assert [r.state for r in read.task_runs] == [State.CREATED, State.RUNNING]


def test_updating_an_unsaved_execution_is_refused(store: SqlStore) -> None:
    with (
        pytest.raises(MissingRecordError, match="create it before updating it"),
        store.unit() as repos,
    ):
        repos.executions.update_execution(execution(), [])


def test_a_changed_task_run_must_belong_to_the_execution(store: SqlStore) -> None:
    run = execution()
    stray = task_run("stray")
    with pytest.raises(MissingRecordError, match=stray.id), store.unit() as repos:
        repos.executions.create_execution(run)
        repos.executions.update_execution(run, [stray])


def test_missing_execution_reads_as_none(store: SqlStore) -> None:
    with store.unit() as repos:
        assert repos.executions.read_execution("nope") is None
        assert repos.executions.delete_execution("nope") is False


def saved(store: SqlStore, *runs: Execution) -> None:
    with store.unit() as repos:
        for run in runs:
            repos.executions.create_execution(run)


def test_list_executions_filters_and_gives_newest_first(store: SqlStore) -> None:
    old = execution(started=T0)
    new = execution(started=T0 + timedelta(hours=1))
    new.transition(State.RUNNING)
    new.task_runs = [task_run("a")]
    other_flow = execution(flow_id="other", started=T0 + timedelta(hours=2))
    other_namespace = execution(namespace="elsewhere", started=T0 + timedelta(hours=3))
    saved(store, old, new, other_flow, other_namespace)
    with store.unit() as repos:
        everything = repos.executions.list_executions()
        of_flow = repos.executions.list_executions("company.team", "hello")
        running = repos.executions.list_executions(states=[State.RUNNING, State.PAUSED])
        page = repos.executions.list_executions(limit=2, offset=1)
    assert [e.id for e in everything] == [other_namespace.id, other_flow.id, new.id, old.id]
    assert [e.id for e in of_flow] == [new.id, old.id]
    assert [e.id for e in running] == [new.id]
    assert [r.task_id for r in running[0].task_runs] == ["a"]
    assert [e.id for e in page] == [other_flow.id, new.id]


def test_count_running_counts_executions_holding_a_slot(store: SqlStore) -> None:
    runs = [execution() for _ in range(6)]
    for run, state in zip(
        runs,
        [State.RUNNING, State.PAUSED, State.KILLING, State.CREATED, State.SUCCESS, State.QUEUED],
        strict=True,
    ):
        run.transition(state)
    elsewhere = execution(flow_id="other")
    elsewhere.transition(State.RUNNING)
    saved(store, *runs, elsewhere)
    with store.unit() as repos:
        assert repos.executions.count_running("company.team", "hello") == 3
        unfinished = set(repos.executions.list_unfinished_execution_ids())
    assert unfinished == {run.id for run in runs if not run.state.terminal} | {elsewhere.id}


def test_oldest_queued_is_the_flows_execution_that_waited_longest(store: SqlStore) -> None:
    newer, oldest, running = (execution(started=T0 + timedelta(minutes=m)) for m in (2, 1, 0))
    for run in (newer, oldest):
        run.transition(State.QUEUED)
    running.transition(State.RUNNING)
    elsewhere = execution(flow_id="other", started=T0 - timedelta(hours=1))
    elsewhere.transition(State.QUEUED)
    saved(store, newer, oldest, running, elsewhere)
    with store.unit() as repos:
        assert repos.executions.oldest_queued("company.team", "hello") == oldest.id
        assert repos.executions.oldest_queued("company.team", "none") is None


def test_ended_execution_is_no_longer_unfinished(store: SqlStore) -> None:
    run = execution()
    saved(store, run)
    run.transition(State.SUCCESS)
    with store.unit() as repos:
        repos.executions.update_execution(run, [])
    with store.unit() as repos:
        assert repos.executions.list_unfinished_execution_ids() == []
        read = repos.executions.read_execution(run.id)
    assert read is not None and read.ended == run.ended


def test_deleting_an_execution_deletes_its_task_runs_and_logs(store: SqlStore) -> None:
    from controlplane.engine.ports import LogEntry

    run = execution()
    run.task_runs = [task_run("a")]
    saved(store, run)
    with store.unit() as repos:
        repos.logs.create_logs([LogEntry(run.id, None, None, None, "INFO", "hello", T0)])
        assert repos.executions.delete_execution(run.id) is True
    with store.unit() as repos:
        assert repos.executions.read_execution(run.id) is None
        assert repos.logs.list_logs(run.id) == []
        # The same task run id can be saved again: its row went with the execution.
        again = execution()
        again.task_runs = [run.task_runs[0]]
        repos.executions.create_execution(again)
