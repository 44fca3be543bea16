"""Parquet files to and from Ion (``serdes.parquet.*``), written and read by DuckDB.

IonToParquet makes records of the rows as IonToAvro does (controlplane/tasks/avro_records.py),
then DuckDB reads them, as JSON lines typed column by column from the Avro schema, and writes
the Parquet file with ``COPY ... (FORMAT parquet)``. Avro types become Parquet's: int and long
INT32 / INT64, float and double, string and enum UTF8, bytes and fixed BYTE_ARRAY, boolean,
date, time, timestamp (UTC-adjusted) and local-timestamp, decimal; records are groups, arrays
lists and maps maps. A union other than with null has no Parquet column type and is refused.

DuckDB sizes row groups in rows: ``rowGroupSize`` (bytes, as Kestra's writer takes it) becomes
the number of rows that many bytes of the rows hold, as their JSON text measures them.
``dictionaryPageSize`` bounds the dictionary; ``pageSize`` is left to DuckDB, which picks the
size of its pages itself.

ParquetToIon reads every row of the file with DuckDB, one struct each.
"""

from __future__ import annotations

import base64
import json
import shutil
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.serdes_files import IonToParquet, ParquetToIon
from controlplane.tasks import props
from controlplane.tasks.avro_records import convert_rows
from controlplane.tasks.serdes import write_ion
from controlplane.tasks.storage import read_bytes

_PRIMITIVES = {
    "boolean": "BOOLEAN",
    "int": "INTEGER",
    "long": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "string": "VARCHAR",
    "enum": "VARCHAR",
    "bytes": "BLOB",
    "fixed": "BLOB",
}
_LOGICAL = {
    "date": "DATE",
    "time-millis": "TIME",
    "time-micros": "TIME",
    "timestamp-millis": "TIMESTAMPTZ",
    "timestamp-micros": "TIMESTAMPTZ",
    "local-timestamp-millis": "TIMESTAMP",
    "local-timestamp-micros": "TIMESTAMP",
    "uuid": "VARCHAR",
}
_MAX_DECIMAL_PRECISION = 38


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class _Columns:
    """DuckDB types of an Avro record schema's fields, named types resolved."""

    def __init__(self) -> None:
        self.named: dict[str, Any] = {}

    def record(self, schema: dict[str, Any]) -> dict[str, str]:
        self._name(schema)
        return {f["name"]: self.type(f["type"], f["name"]) for f in schema["fields"]}

    def _name(self, schema: dict[str, Any]) -> None:
        if "name" in schema:
            self.named[schema["name"]] = schema
            if schema.get("namespace"):
                self.named[f"{schema['namespace']}.{schema['name']}"] = schema

    def type(self, schema: Any, path: str) -> str:
        if isinstance(schema, list):
            branches = [s for s in schema if s != "null"]
            if len(branches) != 1:
                raise TaskFailed(
                    f"field '{path}' is a union of {', '.join(map(json.dumps, branches))}: a "
                    "Parquet column has one type (a union of one type with null is nullable)"
                )
            return self.type(branches[0], path)
        if isinstance(schema, str):
            if schema in self.named:
                return self.type(self.named[schema], path)
            schema = {"type": schema}
        kind = schema.get("type")
        if isinstance(kind, dict | list):
            return self.type(kind, path)
        logical = schema.get("logicalType")
        if logical == "decimal":
            precision = int(schema.get("precision", _MAX_DECIMAL_PRECISION))
            if precision > _MAX_DECIMAL_PRECISION:
                raise TaskFailed(f"field '{path}': decimals hold at most 38 digits here")
            return f"DECIMAL({precision}, {int(schema.get('scale', 0))})"
        if logical in _LOGICAL:
            return _LOGICAL[logical]
        if kind in _PRIMITIVES:
            if kind in ("enum", "fixed"):
                self._name(schema)
            return _PRIMITIVES[kind]
        if kind == "record":
            fields = self.record(schema)
            inner = ", ".join(f"{_quoted(name)} {kind}" for name, kind in fields.items())
            return f"STRUCT({inner})"
        if kind == "array":
            return self.type(schema["items"], f"{path}[]") + "[]"
        if kind == "map":
            return f"MAP(VARCHAR, {self.type(schema['values'], path + '{}')})"
        raise TaskFailed(f"field '{path}' has Avro type {json.dumps(kind)}, which Parquet lacks")


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON")


def _select(columns: dict[str, str]) -> str:
    """The columns as read from the JSON lines: BLOBs travel as base64 text."""
    parts = []
    for name, kind in columns.items():
        if kind == "BLOB":
            parts.append(f"from_base64({_quoted(name)}) AS {_quoted(name)}")
        elif "BLOB" in kind:
            raise TaskFailed(f"field '{name}': bytes inside a record, array or map")
        else:
            parts.append(_quoted(name))
    return ", ".join(parts) or "*"


def _rows_per_group(task: IonToParquet, ctx: RunContext, rows: int, size: int) -> int:
    target = props.integer(ctx, task.rowGroupSize, "rowGroupSize")
    if target <= 0:
        raise TaskFailed(f"'rowGroupSize' must be a positive number of bytes, got {target}")
    return max(1, target * max(rows, 1) // max(size, 1))


@runs(IonToParquet)
def run_ion_to_parquet(task: IonToParquet, ctx: RunContext) -> dict[str, Any]:
    converted = convert_rows(task, ctx)
    columns = _Columns().record(converted.schema)
    read = {name: ("VARCHAR" if kind == "BLOB" else kind) for name, kind in columns.items()}
    version = task.parquetVersion or task.version or "V2"
    dictionary = props.integer(ctx, task.dictionaryPageSize, "dictionaryPageSize")
    scratch = ctx.scratch_dir("parquet-")
    try:
        lines, target = scratch / "rows.jsonl", scratch / "data.parquet"
        with lines.open("w", encoding="utf-8") as stream:
            for record in converted.records:
                stream.write(json.dumps(record, default=_json_value) + "\n")
        group = _rows_per_group(task, ctx, len(converted.records), lines.stat().st_size)
        options = (
            f"FORMAT parquet, COMPRESSION {task.compressionCodec.lower()}, "
            f"PARQUET_VERSION {version.lower()}, ROW_GROUP_SIZE {group}, "
            f"DICTIONARY_SIZE_LIMIT {dictionary}"
        )
        source = "read_json(?, format = 'newline_delimited', columns = ?)"
        with duckdb.connect() as con:
            con.execute("SET TimeZone = 'UTC'")
            con.execute(
                f"COPY (SELECT {_select(columns)} FROM {source}) TO {_literal(target)} ({options})",
                [str(lines), read],
            )
        uri = ctx.put_file("data.parquet", target)
    except duckdb.Error as exc:
        raise TaskFailed(f"the rows could not be written as Parquet: {exc}") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ctx.metric("records", len(converted.records))
    return {"uri": uri, "size": len(converted.records)}


@runs(ParquetToIon)
def run_parquet_to_ion(task: ParquetToIon, ctx: RunContext) -> dict[str, Any]:
    source = props.text(ctx, task.from_)
    scratch = ctx.scratch_dir("parquet-")
    try:
        path = scratch / "data.parquet"
        path.write_bytes(read_bytes(ctx, source))
        rows = _read(path, source)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return write_ion(ctx, rows)


def _read(path: Path, source: str) -> list[dict[str, Any]]:
    try:
        with duckdb.connect() as con:
            con.execute("SET TimeZone = 'UTC'")
            cursor = con.execute("SELECT * FROM read_parquet(?)", [str(path)])
            names = [column[0] for column in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except duckdb.Error as exc:
        raise TaskFailed(f"{source} is not a Parquet file DuckDB reads: {exc}") from None
