"""Corpus flows of the pipeline tasks that need no outside service run to the end.

Kestra's own sanity check of its SQLite plugin creates a database file, passes it from task to
task as ``databaseUri``/``sqliteFile``, fetches and stores rows and asserts on them.
"""

from __future__ import annotations

from controlplane.engine.engine import Engine
from controlplane.engine.model import State
from controlplane.store import SqlStore
from tests.waiting import ended


def test_kestra_sqlite_sanity_check_runs_and_its_assertions_hold(
    kestra_engine: tuple[SqlStore, Engine],
) -> None:
    store, engine = kestra_engine
    execution = engine.create_execution("sanitychecks.plugin-jdbc", "all_sqlite")
    final = ended(engine, execution.id)
    with store.unit() as repos:
        errors = [e.message for _, e in repos.logs.list_logs(execution.id) if e.level == "ERROR"]
    assert final.state is State.SUCCESS, errors
    runs = {run.task_id: run for run in final.task_runs}
    assert list(runs) == [
        "create_table", "insert_data", "query", "queries", "select_and_store", "assert", "purge",
    ]  # fmt: skip
    assert runs["query"].outputs["rows"] == [
        {"field1": 1, "field2": 2}, {"field1": 3, "field2": 4}, {"field1": 4, "field2": 5},
    ]  # fmt: skip
    assert [o["size"] for o in runs["queries"].outputs["outputs"]] == [3, 1]
    assert runs["select_and_store"].outputs["size"] == 2
