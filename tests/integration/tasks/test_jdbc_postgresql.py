"""PostgreSQL Query, Queries, CopyIn and CopyOut on a real PostgreSQL server (one schema per
test), and a whole flow through the engine: a CSV loaded with CopyIn into a staging table, then
merged without duplicates."""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from controlplane.engine.engine import Engine
from controlplane.engine.model import State, new_id
from tests.conftest import EngineFactory
from tests.integration.tasks.conftest import Runner
from tests.integration.tasks.test_jdbc import kill_when, put_input, read_ion, stored_text
from tests.waiting import ended

QUERY = "io.kestra.plugin.jdbc.postgresql.Query"
QUERIES = "io.kestra.plugin.jdbc.postgresql.Queries"
COPY_IN = "io.kestra.plugin.jdbc.postgresql.CopyIn"
COPY_OUT = "io.kestra.plugin.jdbc.postgresql.CopyOut"


@pytest.fixture
def pg(postgres_url: str) -> dict[str, str]:
    """Connection properties of a task for the test's schema, as a flow would write them."""
    parts = urllib.parse.urlsplit(postgres_url)
    url = f"jdbc:postgresql://{parts.hostname}:{parts.port}{parts.path}?{parts.query}"
    return {"url": url, "username": parts.username or ""}


def test_query_gives_postgres_values_as_kestra_outputs(runner: Runner, pg: dict[str, str]) -> None:
    result = runner.run(
        {
            "id": "q",
            "type": QUERY,
            **pg,
            "fetchType": "FETCH",
            "timeZoneId": "Europe/Paris",
            "sql": """
                SELECT 1.50::numeric AS price, 10::bigint AS count, true AS flag, NULL AS nothing,
                       DATE '2024-01-02' AS day, TIMESTAMP '2024-01-02 03:04:05' AS local,
                       TIMESTAMPTZ '2024-07-01 08:00:00+00' AS instant, '{"a": [1]}'::jsonb AS doc,
                       ARRAY[1, 2] AS list, '\\x0102'::bytea AS raw, INTERVAL '1 hour 30 minutes' AS span,
                       '5b6f9f5e-6c0e-4bde-8f5a-7a2e3c4d5e6f'::uuid AS id, '10.0.0.1'::inet AS address
            """,
        }
    )

    assert result.state is State.SUCCESS, result.error
    assert result.outputs["rows"] == [
        {
            "price": 1.5,
            "count": 10,
            "flag": True,
            "nothing": None,
            "day": "2024-01-02",
            "local": "2024-01-02T03:04:05",
            "instant": "2024-07-01T10:00:00+02:00",
            "doc": {"a": [1]},
            "list": [1, 2],
            "raw": "AQI=",
            "span": "PT1H30M",
            "id": "5b6f9f5e-6c0e-4bde-8f5a-7a2e3c4d5e6f",
            "address": "10.0.0.1",
        }
    ]
    assert result.outputs["size"] == 1


def test_parameters_are_bound_even_with_quotes_and_percent_signs(
    runner: Runner, pg: dict[str, str]
) -> None:
    hostile = "O'Brien'); drop table people;-- 100%"
    result = runner.run(
        {
            "id": "q",
            "type": QUERIES,
            **pg,
            "fetchType": "FETCH",
            "parameters": {"name": hostile, "tags": ["a", "b"], "meta": {"k": 1}},
            "sql": """
                CREATE TABLE people (name text, tags text[], meta jsonb);
                INSERT INTO people VALUES (:name, :tags, :meta::jsonb);
                SELECT name, tags, meta, name LIKE '%100\\%' AS percent, 'x'::text AS "a:b"
                FROM people WHERE name = :name;
            """,
        }
    )

    assert result.state is State.SUCCESS, result.error
    assert result.outputs["outputs"][0]["rows"] == [
        {"name": hostile, "tags": ["a", "b"], "meta": {"k": 1}, "percent": True, "a:b": "x"}
    ]


def test_queries_roll_back_when_a_statement_fails(runner: Runner, pg: dict[str, str]) -> None:
    runner.run({"id": "setup", "type": QUERY, **pg, "sql": "CREATE TABLE t (n int PRIMARY KEY)"})

    failed = runner.run(
        {
            "id": "q",
            "type": QUERIES,
            **pg,
            "sql": "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); INSERT INTO t VALUES (1);",
        }
    )
    kept = runner.run(
        {
            "id": "q2",
            "type": QUERIES,
            **pg,
            "transaction": False,
            "sql": "INSERT INTO t VALUES (5); INSERT INTO t VALUES (5)",
        }
    )
    check = runner.run(
        {"id": "check", "type": QUERY, **pg, "fetchType": "FETCH", "sql": "SELECT n FROM t"}
    )

    assert failed.state is State.FAILED
    assert failed.error is not None
    assert failed.error.startswith(
        'Statement 3 of 3 failed: duplicate key value violates unique constraint "t_pkey"'
    )
    assert failed.error.endswith("; the transaction was rolled back")
    assert kept.error is not None and kept.error.startswith("Statement 2 of 2 failed:")
    assert check.outputs["rows"] == [{"n": 5}]


def test_store_streams_every_row_to_an_ion_file(runner: Runner, pg: dict[str, str]) -> None:
    result = runner.run(
        {
            "id": "q",
            "type": QUERIES,
            **pg,
            "fetchType": "STORE",
            "fetchSize": 7,
            "sql": """
                SELECT i, 'row ' || i AS label, i / 4.0 AS quarter FROM generate_series(1, 50) i;
                SELECT 1 WHERE false;
                CREATE TABLE unused (a int);
            """,
        }
    )

    assert result.state is State.SUCCESS, result.error
    many, empty = result.outputs["outputs"]
    assert many["size"] == 50 and empty["size"] == 0
    rows = read_ion(stored_text(runner, many["uri"]))
    assert len(rows) == 50
    assert rows[0]["label"] == "row 1" and str(rows[1]["quarter"]) == "0.50000000000000000000"
    assert stored_text(runner, empty["uri"]) == ""


def test_after_sql_marks_the_stored_rows_in_the_same_transaction(
    runner: Runner, pg: dict[str, str]
) -> None:
    runner.run(
        {
            "id": "setup",
            "type": QUERIES,
            **pg,
            "sql": "CREATE TABLE events (id int, sent bool DEFAULT false);"
            "INSERT INTO events (id) SELECT generate_series(1, 3);",
        }
    )

    picked = runner.run(
        {
            "id": "pick",
            "type": QUERY,
            **pg,
            "fetchType": "STORE",
            "sql": "SELECT id FROM events WHERE NOT sent ORDER BY id",
            "afterSQL": "WITH marked AS (UPDATE events SET sent = true WHERE NOT sent RETURNING id) "
            "SELECT count(*) FROM marked",
        }
    )
    left = runner.run(
        {
            "id": "left",
            "type": QUERY,
            **pg,
            "fetchType": "FETCH_ONE",
            "sql": "SELECT count(*) AS n FROM events WHERE NOT sent",
        }
    )

    assert picked.state is State.SUCCESS, picked.error
    assert read_ion(stored_text(runner, picked.outputs["uri"])) == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert left.outputs["row"] == {"n": 0}


def test_notices_of_the_server_are_logged(runner: Runner, pg: dict[str, str]) -> None:
    result = runner.run(
        {
            "id": "q",
            "type": QUERIES,
            **pg,
            "sql": "DO $$ BEGIN RAISE NOTICE 'hello; from plpgsql'; END $$; SELECT 1",
        }
    )

    assert result.state is State.SUCCESS, result.error
    assert "PostgreSQL: hello; from plpgsql" in runner.messages(result)


def test_copy_in_a_stored_csv_then_copy_out_again(runner: Runner, pg: dict[str, str]) -> None:
    execution = new_id()
    csv = b'id,name,city\n1,"Ann, Jr.",Paris\n2,Bob,\n3,"say ""hi""",NULL\n'
    source = put_input(runner, execution, "people.csv", csv)
    runner.run(
        {
            "id": "setup",
            "type": QUERY,
            **pg,
            "sql": "CREATE TABLE people (id int, name text, city text, note text DEFAULT 'x')",
        }
    )

    copied_in = runner.run(
        {
            "id": "load",
            "type": COPY_IN,
            **pg,
            "from": source,
            "table": "people",
            "columns": ["id", "name", "city"],
            "format": "CSV",
            "header": True,
            "nullString": "NULL",
            "forceNotNull": ["city"],
        },
        execution_id=execution,
    )
    copied_out = runner.run(
        {
            "id": "export",
            "type": COPY_OUT,
            **pg,
            "sql": "SELECT id, name, city FROM people ORDER BY id",
            "format": "CSV",
            "header": True,
            "delimiter": ";",
            "forceQuote": ["name"],
        },
        execution_id=execution,
    )

    assert copied_in.state is State.SUCCESS, copied_in.error
    assert copied_in.outputs == {"rowCount": 3}
    assert copied_out.state is State.SUCCESS, copied_out.error
    assert copied_out.outputs["rowCount"] == 3
    assert stored_text(runner, copied_out.outputs["uri"]) == (
        # forceNotNull: the empty city is an empty text and "NULL" a text, neither a null.
        'id;name;city\n1;"Ann, Jr.";Paris\n2;"Bob";""\n3;"say ""hi""";NULL\n'
    )
    with runner.store.unit() as repos:
        metrics = repos.metrics.list_metrics(execution)
    assert sorted(m.value for m in metrics if m.name == "rows") == [3.0, 3.0]


def test_copy_out_of_a_whole_table_in_text_format(runner: Runner, pg: dict[str, str]) -> None:
    runner.run(
        {
            "id": "setup",
            "type": QUERIES,
            **pg,
            "sql": "CREATE TABLE t (a int, b text); INSERT INTO t VALUES (1, 'x'), (2, NULL);",
        }
    )

    result = runner.run({"id": "out", "type": COPY_OUT, **pg, "table": "t"})

    assert result.outputs["rowCount"] == 2
    assert stored_text(runner, result.outputs["uri"]) == "1\tx\n2\t\\N\n"


def test_copy_in_errors_name_the_problem(runner: Runner, pg: dict[str, str]) -> None:
    execution = new_id()
    source = put_input(runner, execution, "bad.csv", b"not-a-number\n")
    runner.run({"id": "setup", "type": QUERY, **pg, "sql": "CREATE TABLE nums (n int)"})

    bad_data = runner.run(
        {"id": "a", "type": COPY_IN, **pg, "from": source, "table": "nums", "format": "CSV"},
        execution_id=execution,
    )
    no_table = runner.run(
        {"id": "b", "type": COPY_IN, **pg, "from": source}, execution_id=execution
    )
    bad_delimiter = runner.run(
        {"id": "c", "type": COPY_IN, **pg, "from": source, "table": "nums", "delimiter": ";;"},
        execution_id=execution,
    )

    assert bad_data.error is not None
    assert bad_data.error.startswith(
        'COPY failed: invalid input syntax for type integer: "not-a-number"'
    )
    assert no_table.error == "'table' is required: the table to copy into"
    assert bad_delimiter.error == "'delimiter' must be a single character, got ';;'"


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_connection_names_host_and_port_but_not_the_password(runner: Runner) -> None:
    port = _closed_port()
    result = runner.run(
        {
            "id": "q",
            "type": QUERY,
            "url": f"jdbc:postgresql://127.0.0.1:{port}/app?password=UrlS3cret",
            "username": "app",
            "password": "PropS3cret",
            "sql": "SELECT 1",
        }
    )

    assert result.state is State.FAILED
    assert result.error is not None
    assert result.error.startswith(f"Could not connect to PostgreSQL at 127.0.0.1:{port}/app: ")
    assert "Connection refused" in result.error
    logs = "\n".join(runner.messages(result))
    assert "S3cret" not in logs and "S3cret" not in result.error


def test_a_bad_url_says_the_expected_form_without_its_password(runner: Runner) -> None:
    result = runner.run(
        {"id": "q", "type": QUERY, "url": "postgresql://app:Hidden1@db/app", "sql": "SELECT 1"}
    )

    assert result.error == (
        "'url' must look like jdbc:postgresql://host:port/database, "
        "got 'postgresql://app:********@db/app'"
    )


def test_the_password_never_shows_in_a_sql_error(runner: Runner, pg: dict[str, str]) -> None:
    result = runner.run(
        {
            "id": "q",
            "type": QUERY,
            **pg,
            "password": "Tr1cky-pass",
            "sql": "SELECT 'Tr1cky-pass'::int",
        }
    )

    assert result.state is State.FAILED
    assert result.error == (
        'The query failed: invalid input syntax for type integer: "********"\n'
        "LINE 1: SELECT '********'::int\n"
        "               ^"
    )
    assert not any("Tr1cky" in line for line in runner.messages(result))


def test_a_timeout_cancels_the_running_statement(runner: Runner, pg: dict[str, str]) -> None:
    result = runner.run(
        {"id": "q", "type": QUERY, **pg, "sql": "SELECT pg_sleep(600)"},
        timeout=timedelta(milliseconds=300),
    )

    assert result.state is State.FAILED
    assert result.error == "Timeout after PT0.3S: the task was stopped"


def test_a_kill_cancels_a_transaction_and_keeps_nothing(
    runner: Runner, pg: dict[str, str], postgres_url: str
) -> None:
    runner.run({"id": "setup", "type": QUERY, **pg, "sql": "CREATE TABLE t (n int)"})
    item = runner.item(
        {
            "id": "q",
            "type": QUERIES,
            **pg,
            "sql": "INSERT INTO t VALUES (1); SELECT pg_sleep(600)",
        }
    )

    def sleeping() -> bool:
        with psycopg.connect(postgres_url) as check:
            found = check.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600)'"
            ).fetchone()
        return bool(found and found[0])

    result = kill_when(runner, item, sleeping)

    assert result.state is State.KILLED
    assert result.error == "The task was killed (the running statement was interrupted)"
    with psycopg.connect(postgres_url) as check:
        assert check.execute("SELECT count(*) FROM t").fetchone() == (0,)


# -- a whole flow -----------------------------------------------------------------------------

LOAD_FLOW = """
id: load_customers
namespace: company.team
inputs:
  - id: customers
    type: FILE
pluginDefaults:
  - type: io.kestra.plugin.jdbc.postgresql
    values:
      url: "{url}"
      username: "{username}"
tasks:
  - id: create
    type: io.kestra.plugin.jdbc.postgresql.Queries
    sql: |
      CREATE TABLE IF NOT EXISTS customers (id int PRIMARY KEY, email text, updated date);
      CREATE TABLE IF NOT EXISTS customers_staging (id int, email text, updated date);
      TRUNCATE customers_staging;
  - id: copy_in
    type: io.kestra.plugin.jdbc.postgresql.CopyIn
    from: "{{{{ inputs.customers }}}}"
    table: customers_staging
    format: CSV
    header: true
    columns: [id, email, updated]
  - id: merge
    type: io.kestra.plugin.jdbc.postgresql.Queries
    sql: |
      INSERT INTO customers (id, email, updated)
      SELECT DISTINCT ON (id) id, email, updated FROM customers_staging
      ORDER BY id, updated DESC
      ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, updated = EXCLUDED.updated
      WHERE customers.updated < EXCLUDED.updated;
      SELECT count(*) AS total FROM customers;
    fetchType: FETCH_ONE
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "loaded {{{{ outputs.copy_in.rowCount }}}} rows, {{{{ outputs.merge.outputs[0].row.total }}}} customers"
"""


@pytest.fixture
def engine(tmp_path: Path, engine_factory: EngineFactory) -> Iterator[Engine]:
    with engine_factory.running(tmp_path / "home", tmp_path / "work", concurrency=2) as found:
        yield found.engine


def _load(engine: Engine, csv: str) -> tuple[State, list[str]]:
    execution = engine.create_execution(
        "company.team", "load_customers", {"customers": csv.encode()}
    )
    final = ended(engine, execution.id)
    with engine.store.unit() as repos:
        logs = [entry.message for _, entry in repos.logs.list_logs(execution.id)]
    return final.state, logs


def test_a_flow_loads_a_csv_with_copy_in_and_merges_it_without_duplicates(
    engine: Engine, pg: dict[str, str], postgres_url: str
) -> None:
    with engine.store.unit() as repos:
        repos.flows.create_flow_revision(
            "company.team", "load_customers", LOAD_FLOW.format(**pg), None
        )

    first = _load(
        engine,
        "id,email,updated\n1,ann@old.example,2024-01-01\n2,bob@example.com,2024-01-01\n"
        "1,ann@new.example,2024-01-02\n",
    )
    second = _load(
        engine,
        "id,email,updated\n2,bob@stale.example,2023-12-31\n3,cy@example.com,2024-01-03\n",
    )

    assert first[0] is State.SUCCESS, first[1]
    assert "loaded 3 rows, 2 customers" in first[1]
    assert second[0] is State.SUCCESS, second[1]
    assert "loaded 2 rows, 3 customers" in second[1]
    with psycopg.connect(postgres_url) as check:
        rows = check.execute("SELECT id, email FROM customers ORDER BY id").fetchall()
    assert rows == [(1, "ann@new.example"), (2, "bob@example.com"), (3, "cy@example.com")]
