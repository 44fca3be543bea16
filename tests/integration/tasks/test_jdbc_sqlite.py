"""SQLite Query and Queries on real SQLite databases: a file on disk, a database file handed from
task to task through internal storage, transactions, kills."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from controlplane.engine.model import State, new_id
from tests.integration.tasks.conftest import Runner
from tests.integration.tasks.test_jdbc import read_ion, stored_text

QUERY = "io.kestra.plugin.jdbc.sqlite.Query"
QUERIES = "io.kestra.plugin.jdbc.sqlite.Queries"


def test_a_database_file_on_disk_is_written_and_read(runner: Runner, tmp_path: Path) -> None:
    database = tmp_path / "app.sqlite"
    url = f"jdbc:sqlite:{database}"

    written = runner.run(
        {
            "id": "write",
            "type": QUERIES,
            "url": url,
            "sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);"
            "INSERT INTO users (name) VALUES ('ann'), ('bob');",
        }
    )
    read = runner.run(
        {
            "id": "read",
            "type": QUERY,
            "url": url,
            "fetchType": "FETCH",
            "sql": "SELECT id, name FROM users ORDER BY id",
        }
    )

    assert written.state is State.SUCCESS, written.error
    assert read.outputs["rows"] == [{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}]
    with sqlite3.connect(database) as check:
        assert check.execute("SELECT count(*) FROM users").fetchone() == (2,)


def test_the_database_file_goes_from_task_to_task_through_internal_storage(
    runner: Runner,
) -> None:
    """Kestra's own sanity check: a relative file in the working directory, ``outputDbFile``
    to store it and ``sqliteFile`` to bring it back in the next task."""
    execution = new_id()
    defaults = {"url": "jdbc:sqlite:myfile.db", "outputDbFile": True}
    create = runner.run(
        {
            "id": "create_table",
            "type": QUERY,
            **defaults,
            "sql": "CREATE TABLE IF NOT EXISTS test(field1 INT, field2 INT);",
        },
        execution_id=execution,
    )
    insert = runner.run(
        {
            "id": "insert_data",
            "type": QUERIES,
            **defaults,
            "sqliteFile": "{{ outputs.create_table.databaseUri }}",
            "sql": "INSERT INTO test VALUES (1, 2); INSERT INTO test VALUES (3, 4);"
            "INSERT INTO test VALUES (4, 5);",
        },
        execution_id=execution,
        outputs={"create_table": create.outputs},
    )
    queries = runner.run(
        {
            "id": "queries",
            "type": QUERIES,
            **defaults,
            "sqliteFile": "{{ outputs.insert_data.databaseUri }}",
            "fetchType": "STORE",
            "sql": "SELECT * FROM test ORDER BY field1; SELECT * FROM test ORDER BY field1 LIMIT 1;",
        },
        execution_id=execution,
        outputs={"insert_data": insert.outputs},
    )

    assert create.outputs["databaseUri"].endswith("/myfile.db")
    assert insert.state is State.SUCCESS, insert.error
    first, second = queries.outputs["outputs"]
    assert (first["size"], second["size"]) == (3, 1)
    assert read_ion(stored_text(runner, first["uri"])) == [
        {"field1": 1, "field2": 2},
        {"field1": 3, "field2": 4},
        {"field1": 4, "field2": 5},
    ]


def test_queries_in_a_transaction_leave_nothing_when_one_fails(
    runner: Runner, tmp_path: Path
) -> None:
    url = f"jdbc:sqlite:{tmp_path / 'tx.sqlite'}"
    runner.run(
        {"id": "setup", "type": QUERY, "url": url, "sql": "CREATE TABLE t (n INTEGER UNIQUE)"}
    )

    failed = runner.run(
        {
            "id": "q",
            "type": QUERIES,
            "url": url,
            "sql": "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); INSERT INTO t VALUES (1);",
        }
    )
    check = runner.run(
        {
            "id": "check",
            "type": QUERY,
            "url": url,
            "fetchType": "FETCH_ONE",
            "sql": "SELECT count(*) AS n FROM t",
        }
    )

    assert failed.error == (
        "Statement 3 of 3 failed: UNIQUE constraint failed: t.n; the transaction was rolled back"
    )
    assert check.outputs["row"] == {"n": 0}


def test_after_sql_runs_in_the_same_transaction_as_the_query(
    runner: Runner, tmp_path: Path
) -> None:
    url = f"jdbc:sqlite:{tmp_path / 'after.sqlite'}"
    runner.run(
        {
            "id": "setup",
            "type": QUERIES,
            "url": url,
            "sql": "CREATE TABLE jobs (id INTEGER, done INTEGER); INSERT INTO jobs VALUES (1, 0), (2, 0);",
        }
    )

    picked = runner.run(
        {
            "id": "pick",
            "type": QUERY,
            "url": url,
            "fetchType": "FETCH",
            "sql": "SELECT id FROM jobs WHERE done = 0 ORDER BY id",
            "afterSQL": "UPDATE jobs SET done = 1 WHERE done = 0",
        }
    )
    again = runner.run(
        {
            "id": "again",
            "type": QUERY,
            "url": url,
            "fetchType": "FETCH",
            "sql": "SELECT id FROM jobs WHERE done = 0",
        }
    )

    assert picked.outputs["rows"] == [{"id": 1}, {"id": 2}]
    assert again.outputs["rows"] == []
    assert "afterSQL ran, 2 rows affected: UPDATE jobs SET done = 1 WHERE done = 0" in (
        runner.messages(picked)
    )


def test_a_timeout_interrupts_a_long_sqlite_query(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "q",
            "type": QUERY,
            "sql": "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
            "SELECT count(*) FROM r",
        },
        timeout=timedelta(milliseconds=300),
    )

    assert result.state is State.FAILED
    assert result.error == "Timeout after PT0.3S: the task was stopped"


def test_output_files_of_sqlite_are_stored(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "q",
            "type": QUERY,
            "outputFiles": ["report.txt"],
            "fetchType": "FETCH_ONE",
            "sql": "SELECT '{{ outputFiles['report.txt'] }}' LIKE '%/report.txt' AS named",
        }
    )

    assert result.outputs["row"] == {"named": 1}
    assert stored_text(runner, result.outputs["outputFiles"]["report.txt"]) == ""
