"""DuckDB Query and Queries on real DuckDB databases: in memory, in a file kept across tasks,
files in and out of the working directory, transactions, kills and timeouts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from controlplane.engine.model import State, new_id
from tests.integration.tasks.conftest import Runner
from tests.integration.tasks.test_jdbc import kill_when, logged, put_input, read_ion, stored_text

QUERY = "io.kestra.plugin.jdbc.duckdb.Query"
QUERIES = "io.kestra.plugin.jdbc.duckdb.Queries"
ENDLESS = "SELECT count(*) FROM range(1000000000000) a"


def test_in_memory_query_gives_json_outputs_like_kestra(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "q",
            "type": QUERY,
            "url": "jdbc:duckdb:",
            "fetchType": "FETCH",
            "timeZoneId": "UTC",
            "sql": """
                SELECT 42::HUGEINT AS big, 12.50::DECIMAL(10,2) AS price, 3::DECIMAL(5,0) AS whole,
                       DATE '2024-01-02' AS day, TIME '12:30:00' AS at_time,
                       TIMESTAMP '2024-01-02 03:04:05' AS stamp, INTERVAL 90 MINUTE AS span,
                       'ab'::BLOB AS raw, [1, NULL] AS list, {'x': 1} AS struct,
                       MAP {'k': 2} AS map, 'nan'::DOUBLE AS nan,
                       '5b6f9f5e-6c0e-4bde-8f5a-7a2e3c4d5e6f'::UUID AS id
            """,
        }
    )

    assert result.state is State.SUCCESS, result.error
    assert result.outputs["rows"] == [
        {
            "big": 42,
            "price": 12.5,
            "whole": 3,
            "day": "2024-01-02",
            "at_time": "12:30:00",
            "stamp": "2024-01-02T03:04:05Z",
            "span": "PT1H30M",
            "raw": "YWI=",
            "list": [1, None],
            "struct": {"x": 1},
            "map": {"k": 2},
            "nan": "NaN",
            "id": "5b6f9f5e-6c0e-4bde-8f5a-7a2e3c4d5e6f",
        }
    ]


def test_a_database_file_is_kept_across_two_tasks(runner: Runner, tmp_path: Path) -> None:
    database = tmp_path / "data" / "warehouse.duckdb"

    first = runner.run(
        {
            "id": "load",
            "type": QUERIES,
            "url": f"jdbc:duckdb:{database}",
            "sql": "CREATE TABLE sales (id INTEGER, amount DOUBLE); "
            "INSERT INTO sales VALUES (1, 10.5), (2, 20.0);",
        }
    )
    second = runner.run(
        {
            "id": "read",
            "type": QUERY,
            "url": "jdbc:duckdb:",
            "databaseFile": str(database),
            "fetchType": "FETCH_ONE",
            "sql": "SELECT count(*) AS n, sum(amount) AS total FROM sales",
        }
    )

    assert first.state is State.SUCCESS, first.error
    assert database.exists()
    assert second.outputs["row"] == {"n": 2, "total": 30.5}
    assert "Statement 2/2 ran, 2 rows affected: INSERT INTO sales VALUES (1, 10.5), (2, 20.0)" in (
        runner.messages(first)
    )


def test_input_files_are_read_through_the_working_dir_and_output_files_are_stored(
    runner: Runner,
) -> None:
    execution = new_id()
    csv_uri = put_input(runner, execution, "orders.csv", b"id,customer\n1,Ann\n2,Bob\n3,Ann\n")

    result = runner.run(
        {
            "id": "q",
            "type": QUERIES,
            "inputFiles": {"in.csv": csv_uri, "notes/readme.txt": "inline text"},
            "outputFiles": ["out", "counts.csv"],
            "fetchType": "FETCH",
            "sql": """
                CREATE TABLE orders AS SELECT * FROM read_csv_auto('{{ workingDir }}/in.csv', header=True);
                COPY (SELECT customer, count(*) AS n FROM orders GROUP BY 1 ORDER BY 1)
                  TO '{{ outputFiles["counts.csv"] }}' (HEADER, DELIMITER ',');
                COPY (SELECT id FROM orders ORDER BY id) TO '{{ outputFiles.out }}' (FORMAT CSV, HEADER false);
                SELECT content FROM read_text('notes/readme.txt');
            """,
        },
        execution_id=execution,
    )

    assert result.state is State.SUCCESS, result.error
    files = result.outputs["outputFiles"]
    assert set(files) == {"out", "counts.csv"}
    assert stored_text(runner, files["counts.csv"]) == "customer,n\nAnn,2\nBob,1\n"
    assert stored_text(runner, files["out"]) == "1\n2\n3\n"
    assert result.outputs["outputs"] == [{"rows": [{"content": "inline text"}], "size": 1}]


def test_the_database_can_be_stored_and_given_to_a_later_task(runner: Runner) -> None:
    execution = new_id()
    first = runner.run(
        {
            "id": "build",
            "type": QUERY,
            "outputDbFile": True,
            "sql": "CREATE TABLE t AS SELECT * FROM range(4) r(i)",
        },
        execution_id=execution,
    )
    second = runner.run(
        {
            "id": "use",
            "type": QUERY,
            "databaseUri": "{{ outputs.build.databaseUri }}",
            "fetchType": "FETCH_ONE",
            "sql": "SELECT sum(i) AS total FROM t",
        },
        execution_id=execution,
        outputs={"build": first.outputs},
    )

    assert first.state is State.SUCCESS, first.error
    assert first.outputs["databaseUri"].startswith("kestra:///")
    assert second.outputs["row"] == {"total": 6}


def test_queries_give_one_output_per_result_set(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "q",
            "type": QUERIES,
            "fetchType": "STORE",
            "sql": """
                CREATE TABLE t1 AS SELECT * FROM range(100) r(i);
                INSERT INTO t1 SELECT * FROM t1 LIMIT 3;
                SELECT * FROM t1;
                SELECT DISTINCT i FROM t1 ORDER BY i LIMIT 2;
            """,
        }
    )

    assert result.state is State.SUCCESS, result.error
    first, second = result.outputs["outputs"]
    assert first["size"] == 103 and second["size"] == 2
    assert read_ion(stored_text(runner, second["uri"])) == [{"i": 0}, {"i": 1}]


def test_queries_roll_back_every_statement_when_one_fails(runner: Runner, tmp_path: Path) -> None:
    url = f"jdbc:duckdb:{tmp_path / 'db.duckdb'}"
    runner.run({"id": "setup", "type": QUERY, "url": url, "sql": "CREATE TABLE t (n INTEGER)"})

    failed = runner.run(
        {
            "id": "q",
            "type": QUERIES,
            "url": url,
            "sql": "INSERT INTO t VALUES (1); INSERT INTO t VALUES ('not a number'); SELECT 1",
        }
    )
    kept = runner.run(
        {
            "id": "q2",
            "type": QUERIES,
            "url": url,
            "transaction": False,
            "sql": "INSERT INTO t VALUES (2); INSERT INTO t VALUES ('not a number')",
        }
    )
    check = runner.run(
        {"id": "check", "type": QUERY, "url": url, "fetchType": "FETCH", "sql": "SELECT n FROM t"}
    )

    assert failed.state is State.FAILED
    assert failed.error is not None
    assert failed.error.startswith("Statement 2 of 3 failed: Conversion Error:")
    assert failed.error.endswith("; the transaction was rolled back")
    assert kept.state is State.FAILED
    assert check.outputs["rows"] == [{"n": 2}]


def test_a_timeout_interrupts_a_long_query(runner: Runner) -> None:
    result = runner.run(
        {"id": "q", "type": QUERY, "sql": ENDLESS}, timeout=timedelta(milliseconds=300)
    )

    assert result.state is State.FAILED
    assert result.error == "Timeout after PT0.3S: the task was stopped"


def test_a_kill_interrupts_a_long_query(runner: Runner) -> None:
    item = runner.item({"id": "q", "type": QUERIES, "sql": f"SELECT 1; {ENDLESS}"})

    result = kill_when(runner, item, lambda: logged(runner, item.execution_id, "Statement 1/2"))

    assert result.state is State.KILLED
    assert result.error == "The task was killed (the running statement was interrupted)"


def test_a_sql_error_of_a_query_keeps_the_drivers_message(runner: Runner) -> None:
    result = runner.run({"id": "q", "type": QUERY, "sql": "SELECT * FROM nowhere"})

    assert result.state is State.FAILED
    assert result.error is not None
    assert result.error.startswith(
        "The query failed: Catalog Error: Table with name nowhere does not exist!"
    )
