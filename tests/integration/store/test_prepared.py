"""The engine's statements run on the driver's cursor, and fail as any other statement does."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.exc import IntegrityError

from controlplane.engine.model import Execution, State, TaskRun, new_id
from controlplane.engine.ports import StoreUnavailable
from controlplane.store import SqlStore, StoreSettings, open_store


def execution() -> Execution:
    return Execution(id=new_id(), namespace="company.team", flow_id="hello", flow_revision=1)


def test_an_execution_created_twice_is_refused_and_the_first_is_kept(store: SqlStore) -> None:
    first = execution()
    first.task_runs.append(TaskRun(id=new_id(), task_id="t1"))
    with store.unit() as repos:
        repos.executions.create_execution(first)
    again = Execution(id=first.id, namespace="other", flow_id="other", flow_revision=2)
    with pytest.raises(IntegrityError), store.unit() as repos:
        repos.executions.create_execution(again)
    with store.unit(read_only=True) as repos:
        stored = repos.executions.read_execution(first.id)
    assert stored is not None
    assert (stored.namespace, [run.task_id for run in stored.task_runs]) == ("company.team", ["t1"])


def test_a_connection_lost_in_a_unit_makes_the_store_unavailable_then_recovers(
    postgres: str, postgres_url: str, tmp_path: Path
) -> None:
    settings = StoreSettings(home=tmp_path, database_url=postgres_url, secret_key=os.urandom(32))
    store = open_store(settings)
    try:
        saved = execution()
        with store.unit() as repos:
            repos.executions.create_execution(saved)
        with pytest.raises(StoreUnavailable), store.unit() as repos:
            repos.executions.read_execution(saved.id)  # the unit's transaction is open
            with psycopg.connect(postgres, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE state = 'idle in transaction' AND pid <> pg_backend_pid()"
                )
            repos.executions.read_execution(saved.id)
        with store.unit() as repos:
            stored = repos.executions.read_execution(saved.id)
        assert stored is not None and stored.state is State.CREATED
    finally:
        store.close()
