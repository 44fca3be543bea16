"""What the SQL tasks share, on real DuckDB and SQLite databases: the Amazon Ion files of
``fetchType: STORE``, statement splitting, named parameters, fetch types and errors.

``read_ion`` is a reader of the Ion text subset the tasks write (Amazon Ion 1.0 text spec), so
that tests check that stored rows read back to the values the database held.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from controlplane.engine.attempt_run import run_attempt
from controlplane.engine.model import State
from controlplane.engine.ports import execution_storage_path
from controlplane.engine.process import CancelEvent
from controlplane.engine.work import AttemptResult, WorkItem
from tests.integration.tasks.conftest import Runner
from tests.waiting import wait_until

DUCKDB_QUERY = "io.kestra.plugin.jdbc.duckdb.Query"
DUCKDB_QUERIES = "io.kestra.plugin.jdbc.duckdb.Queries"
SQLITE_QUERY = "io.kestra.plugin.jdbc.sqlite.Query"
SQLITE_QUERIES = "io.kestra.plugin.jdbc.sqlite.Queries"

# -- a reader of Ion text ---------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<blob>\{\{\s*(?P<b64>[A-Za-z0-9+/=\s]*)\}\})
    |(?P<timestamp>\d{4}-\d{2}-\d{2}(?:T(?:\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?)?)
    |(?P<number>[+-]?(?:inf|\d[\d_]*(?:\.\d*)?(?:[eEdD][+-]?\d+)?))
    |(?P<string>"(?:[^"\\]|\\.)*")
    |(?P<symbol>'(?:[^'\\]|\\.)*'|[A-Za-z_$][A-Za-z0-9_$]*)
    |(?P<punct>[\[\]{},:])
    )""",
    re.VERBOSE,
)
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)")
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "\\": "\\", '"': '"', "'": "'", "/": "/"}


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        return chr(int(code[1:], 16)) if code[0] in "xu" and len(code) > 1 else _SIMPLE[code]

    return _ESCAPE.sub(one, text[1:-1])


def _timestamp(text: str) -> date | datetime:
    if "T" not in text:
        return date.fromisoformat(text)
    stamp, zone = (text[:-6], text[-6:]) if not text.endswith("Z") else (text[:-1], "+00:00")
    value = datetime.fromisoformat(stamp)
    if zone == "-00:00":
        return value
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    offset = timedelta(hours=hours, minutes=minutes) * (-1 if zone[0] == "-" else 1)
    return value.replace(tzinfo=UTC if not offset else timezone(offset))


def _number(text: str) -> Any:
    if text.lstrip("+-") == "inf":
        return float(text)
    if re.search(r"[eE]", text):
        return float(text)
    if re.search(r"[.dD]", text):
        return Decimal(text.replace("d", "E").replace("D", "E"))
    return int(text)


class _IonReader:
    def __init__(self, text: str) -> None:
        self.tokens = [m for m in _TOKEN.finditer(text) if m.group(0).strip()]
        covered = "".join(m.group(0) for m in self.tokens)
        assert re.sub(r"\s", "", covered) == re.sub(r"\s", "", text), f"not Ion text: {text!r}"
        self.pos = 0

    def values(self) -> list[Any]:
        found = []
        while self.pos < len(self.tokens):
            found.append(self.value())
        return found

    def next(self) -> re.Match[str]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def value(self) -> Any:
        token = self.next()
        kind = token.lastgroup if token.lastgroup != "b64" else "blob"
        if token.group("blob") is not None:
            return base64.b64decode(re.sub(r"\s", "", token.group("b64")))
        if kind == "timestamp":
            return _timestamp(token.group("timestamp"))
        if kind == "number":
            return _number(token.group("number"))
        if kind == "string":
            return _unescape(token.group("string"))
        if kind == "symbol":
            return self._symbol(token.group("symbol"))
        if token.group("punct") == "[":
            return self._sequence("]")
        if token.group("punct") == "{":
            return self._struct()
        raise AssertionError(f"unexpected Ion token {token.group(0)!r}")

    def _symbol(self, text: str) -> Any:
        keywords = {"null": None, "true": True, "false": False, "nan": float("nan")}
        if text in keywords:
            return keywords[text]
        return _unescape(text) if text.startswith("'") else text

    def _sequence(self, end: str) -> list[Any]:
        items: list[Any] = []
        while self.tokens[self.pos].group("punct") != end:
            items.append(self.value())
            if self.tokens[self.pos].group("punct") == ",":
                self.pos += 1
        self.pos += 1
        return items

    def _struct(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        while self.tokens[self.pos].group("punct") != "}":
            name = self.next()
            key = name.group("symbol") or name.group("string")
            assert key is not None, f"bad field name {name.group(0)!r}"
            assert self.next().group("punct") == ":"
            fields[_unescape(key) if key[0] in "'\"" else key] = self.value()
            if self.tokens[self.pos].group("punct") == ",":
                self.pos += 1
        self.pos += 1
        return fields


def read_ion(text: str) -> list[Any]:
    """The top-level values of an Ion text document."""
    return _IonReader(text).values()


def stored_text(runner: Runner, uri: str) -> str:
    with runner.store.files.open(uri) as stream:
        return stream.read().decode("utf-8")


def put_input(runner: Runner, execution_id: str, name: str, data: bytes) -> str:
    """A file of the execution in internal storage, as an upload or an earlier task leaves it."""
    path = execution_storage_path(runner.namespace, runner.flow_id, execution_id)
    return runner.store.files.put(f"{path}inputs/{name}", data)


def kill_when(runner: Runner, item: WorkItem, ready: Callable[[], bool]) -> AttemptResult:
    """Run ``item`` and kill it once ``ready()`` says its long statement is running."""
    cancelled = CancelEvent()
    results: list[AttemptResult] = []
    thread = threading.Thread(
        target=lambda: results.append(
            run_attempt(item, runner.store, runner.settings, cancelled=cancelled)
        )
    )
    thread.start()
    wait_until(lambda: ready() or not thread.is_alive(), what="the long statement to run")
    cancelled.set()
    wait_until(lambda: not thread.is_alive(), what="the attempt to stop after the kill")
    assert results, "the attempt ended without a result"
    return results[0]


def logged(runner: Runner, execution_id: str, prefix: str) -> bool:
    with runner.store.unit() as repos:
        entries = repos.logs.list_logs(execution_id)
    return any(entry.message.startswith(prefix) for _, entry in entries)


# -- STORE files ------------------------------------------------------------------------------


def test_store_writes_one_ion_struct_per_row_that_reads_back_to_the_values(
    runner: Runner,
) -> None:
    result = runner.run(
        {
            "id": "store",
            "type": DUCKDB_QUERY,
            "fetchType": "STORE",
            "timeZoneId": "Europe/Paris",
            "sql": """
                SELECT 1 AS id, 'say "hi"\\there' || chr(10) || 'é' AS text, 12.50::DECIMAL(10,2) AS price,
                       1.5::DOUBLE AS ratio, NULL AS nothing, true AS yes, DATE '2024-02-29' AS day,
                       TIMESTAMPTZ '2024-01-02 03:04:05.123456+00' AS at,
                       TIMESTAMP '2024-07-01 10:00:00' AS local_at,
                       'ab'::BLOB AS raw, [1, 2] AS list, {'a b': 1, 'c': ['x']} AS nested,
                       '{"k": [1, null]}'::JSON AS doc
                UNION ALL
                SELECT 2, '', 0.01, -2e100, 1, false, DATE '1999-12-31',
                       TIMESTAMPTZ '1999-12-31 23:59:59+00', TIMESTAMP '2024-01-01 00:00:00',
                       ''::BLOB, [], {'a b': 2, 'c': []}, '{}'::JSON
                ORDER BY id
            """,
        }
    )

    assert result.state is State.SUCCESS, result.error
    assert result.outputs["size"] == 2
    assert result.outputs["uri"].endswith(".ion")
    text = stored_text(runner, result.outputs["uri"])
    lines = text.splitlines()
    assert len(lines) == 2 and text.endswith("\n")
    assert lines[0] == (
        '{id:1,text:"say \\"hi\\"\\\\there\\né",price:12.50,ratio:1.5e0,nothing:null,yes:true,'
        "day:2024-02-29,at:2024-01-02T03:04:05.123456Z,local_at:2024-07-01T10:00:00+02:00,"
        "raw:{{YWI=}},list:[1,2],nested:{'a b':1,c:[\"x\"]},doc:{k:[1,null]}}"
    )
    first, second = read_ion(text)
    assert first == {
        "id": 1,
        "text": 'say "hi"\\there\né',
        "price": Decimal("12.50"),
        "ratio": 1.5,
        "nothing": None,
        "yes": True,
        "day": date(2024, 2, 29),
        "at": datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
        "local_at": datetime(2024, 7, 1, 10, tzinfo=timezone(timedelta(hours=2))),
        "raw": b"ab",
        "list": [1, 2],
        "nested": {"a b": 1, "c": ["x"]},
        "doc": {"k": [1, None]},
    }
    assert second["text"] == "" and second["price"] == Decimal("0.01")
    assert second["ratio"] == -2e100 and second["raw"] == b"" and second["list"] == []
    assert second["local_at"] == datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=1)))


def test_store_of_a_query_without_rows_is_an_empty_file(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "empty",
            "type": SQLITE_QUERY,
            "fetchType": "STORE",
            "sql": "SELECT 1 AS a WHERE 1 = 0",
        }
    )

    assert result.state is State.SUCCESS, result.error
    assert result.outputs["size"] == 0
    assert stored_text(runner, result.outputs["uri"]) == ""


# -- fetch types ------------------------------------------------------------------------------


def test_fetch_one_gives_the_first_row_and_fetch_gives_them_all(runner: Runner) -> None:
    sql = "SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) AS t(n, s) ORDER BY n"

    one = runner.run({"id": "one", "type": DUCKDB_QUERY, "fetchType": "FETCH_ONE", "sql": sql})
    all_ = runner.run({"id": "all", "type": DUCKDB_QUERY, "fetchType": "FETCH", "sql": sql})
    none = runner.run({"id": "none", "type": DUCKDB_QUERY, "sql": sql})

    assert one.outputs == {"row": {"n": 1, "s": "a"}, "size": 1}
    assert all_.outputs["rows"] == [{"n": 1, "s": "a"}, {"n": 2, "s": "b"}, {"n": 3, "s": "c"}]
    assert all_.outputs["size"] == 3
    assert none.state is State.SUCCESS
    assert none.outputs == {"row": None}
    assert any("not fetched (fetchType NONE)" in line for line in runner.messages(none))


def test_fetch_one_of_an_empty_result_is_a_null_row(runner: Runner) -> None:
    result = runner.run(
        {"id": "one", "type": SQLITE_QUERY, "fetchType": "FETCH_ONE", "sql": "SELECT 1 WHERE 0"}
    )

    assert result.outputs == {"row": None, "size": 0}


def test_the_deprecated_booleans_still_choose_how_rows_come_back(runner: Runner) -> None:
    sql = "SELECT 7 AS n"

    fetched = runner.run({"id": "a", "type": DUCKDB_QUERY, "fetch": True, "sql": sql})
    one = runner.run({"id": "b", "type": DUCKDB_QUERY, "fetchOne": True, "sql": sql})
    stored = runner.run({"id": "c", "type": DUCKDB_QUERY, "store": True, "sql": sql})

    assert fetched.outputs["rows"] == [{"n": 7}]
    assert one.outputs["row"] == {"n": 7}
    assert read_ion(stored_text(runner, stored.outputs["uri"])) == [{"n": 7}]


def test_fetch_type_can_come_from_an_expression(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "q",
            "type": SQLITE_QUERY,
            "fetchType": "{{ inputs.mode }}",
            "sql": "SELECT 'x' AS v",
        },
        inputs={"mode": "FETCH_ONE"},
    )

    assert result.outputs["row"] == {"v": "x"}


def test_an_unknown_fetch_type_from_an_expression_fails_naming_the_property(
    runner: Runner,
) -> None:
    result = runner.run(
        {"id": "q", "type": SQLITE_QUERY, "fetchType": "{{ 'ALL' }}", "sql": "SELECT 1"}
    )

    assert result.state is State.FAILED
    assert result.error == "'fetchType' must be one of STORE, FETCH, FETCH_ONE, NONE, got 'ALL'"


def test_fetch_size_counts_as_a_metric(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "q",
            "type": DUCKDB_QUERIES,
            "fetchType": "FETCH",
            "fetchSize": 2,
            "sql": "SELECT * FROM range(5); SELECT 1",
        }
    )

    assert [o["size"] for o in result.outputs["outputs"]] == [5, 1]
    with runner.store.unit() as repos:
        metrics = repos.metrics.list_metrics(runner.execution_of(result))
    sizes = [m.value for m in metrics if m.name == "fetch.size"]
    assert sizes == [6]


# -- statements -------------------------------------------------------------------------------


def test_semicolons_in_strings_comments_and_trigger_bodies_do_not_split(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "q",
            "type": SQLITE_QUERIES,
            "fetchType": "FETCH",
            "sql": """
                CREATE TABLE t (s TEXT); -- a comment; with a semicolon
                CREATE TABLE log (n INTEGER);
                /* block; comment */
                CREATE TRIGGER t_log AFTER INSERT ON t
                BEGIN
                  INSERT INTO log VALUES (CASE WHEN new.s = 'a;b' THEN 1 ELSE 2 END);
                  INSERT INTO log VALUES (3);
                END;
                INSERT INTO t VALUES ('a;b'), ('it''s; fine'), ("x;y");
                SELECT s FROM t ORDER BY rowid;
                SELECT n FROM log ORDER BY rowid;
                -- trailing comment only
            """,
        }
    )

    assert result.state is State.SUCCESS, result.error
    first, second = result.outputs["outputs"]
    assert [row["s"] for row in first["rows"]] == ["a;b", "it's; fine", "x;y"]
    assert [row["n"] for row in second["rows"]] == [1, 3, 2, 3, 2, 3]
    messages = runner.messages(result)
    assert sum(line.startswith("Statement ") for line in messages) == 6
    assert "Statement 2/6 ran: CREATE TABLE log (n INTEGER)" in messages
    assert (
        "Statement 4/6 ran, 3 rows affected: INSERT INTO t VALUES ('a;b'), ('it''s; fine'), (\"x;y\")"
        in messages
    )


def test_a_query_with_several_statements_runs_them_all(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "q",
            "type": DUCKDB_QUERY,
            "fetchType": "FETCH",
            "sql": "CREATE TABLE t AS SELECT 1 AS n; INSERT INTO t VALUES (2); SELECT n FROM t ORDER BY n;",
        }
    )

    assert result.state is State.SUCCESS, result.error
    assert result.outputs["rows"] == [{"n": 1}, {"n": 2}]


def test_a_sql_without_statements_fails(runner: Runner) -> None:
    result = runner.run({"id": "q", "type": SQLITE_QUERY, "sql": "  -- nothing here\n"})

    assert result.state is State.FAILED
    assert result.error == "'sql' has no statement to run"


def test_expressions_in_the_sql_are_rendered_first(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "q",
            "type": SQLITE_QUERY,
            "fetchType": "FETCH_ONE",
            "sql": "SELECT {{ inputs.n * 2 }} AS doubled, '{{ flow.id }}' AS flow",
        },
        inputs={"n": 21},
    )

    assert result.outputs["row"] == {"doubled": 42, "flow": "flow"}


# -- parameters -------------------------------------------------------------------------------


def test_parameters_are_bound_by_the_driver_not_written_into_the_sql(runner: Runner) -> None:
    hostile = "O'Brien'); DROP TABLE people; --"
    for kind in (SQLITE_QUERIES, DUCKDB_QUERIES):
        result = runner.run(
            {
                "id": "q",
                "type": kind,
                "fetchType": "FETCH",
                "parameters": {"name": hostile, "age": "{{ inputs.age }}", "none": None},
                "sql": """
                    CREATE TABLE people (name TEXT, age INTEGER, note TEXT);
                    INSERT INTO people VALUES (:name, :age, :none);
                    SELECT name, age, note, ':name' AS literal FROM people -- :name
                    WHERE name = :name;
                """,
            },
            inputs={"age": 42},
        )

        assert result.state is State.SUCCESS, (kind, result.error)
        rows = result.outputs["outputs"][0]["rows"]
        assert rows == [{"name": hostile, "age": 42, "note": None, "literal": ":name"}], kind


def test_parameters_may_be_a_map_given_by_an_expression(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "q",
            "type": SQLITE_QUERY,
            "fetchType": "FETCH_ONE",
            "parameters": "{{ inputs.params }}",
            "sql": "SELECT :a + :b AS total, :a AS a",
        },
        inputs={"params": {"a": 40, "b": 2}},
    )

    assert result.outputs["row"] == {"total": 42, "a": 40}


# -- errors -----------------------------------------------------------------------------------


def test_a_sql_error_names_the_statement_and_keeps_the_drivers_message(runner: Runner) -> None:
    result = runner.run(
        {
            "id": "q",
            "type": SQLITE_QUERIES,
            "sql": "SELECT 1; SELECT * FROM missing_table; SELECT 3",
        }
    )

    assert result.state is State.FAILED
    assert result.error == (
        "Statement 2 of 3 failed: no such table: missing_table; the transaction was rolled back"
    )
    assert result.error in runner.messages(result)


def test_a_bad_url_says_the_expected_form(runner: Runner) -> None:
    duck = runner.run({"id": "q", "type": DUCKDB_QUERY, "url": "jdbc:h2:mem", "sql": "SELECT 1"})
    lite = runner.run({"id": "q", "type": SQLITE_QUERY, "url": "sqlite:/x.db", "sql": "SELECT 1"})

    assert duck.error == (
        "'url' must be jdbc:duckdb: (in memory) or jdbc:duckdb:/path/to/file.db, got 'jdbc:h2:mem'"
    )
    assert lite.error == (
        "'url' must be jdbc:sqlite: or jdbc:sqlite::memory: (in memory) or "
        "jdbc:sqlite:/path/to/file.db, got 'sqlite:/x.db'"
    )


def test_a_bad_time_zone_fails_naming_the_property(runner: Runner) -> None:
    result = runner.run(
        {"id": "q", "type": SQLITE_QUERY, "timeZoneId": "Mars/Olympus", "sql": "SELECT 1"}
    )

    assert (
        result.error == "'timeZoneId' must be a time zone such as Europe/Paris, got 'Mars/Olympus'"
    )


def test_output_file_names_must_be_plain_names(runner: Runner) -> None:
    result = runner.run(
        {"id": "q", "type": DUCKDB_QUERY, "outputFiles": ["../escape.csv"], "sql": "SELECT 1"}
    )

    assert result.state is State.FAILED
    assert result.error == (
        "'outputFiles' holds file names (letters, digits, '_', '-', '.'), got '../escape.csv'"
    )
