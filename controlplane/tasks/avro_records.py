"""Ion rows as records of an Avro schema, what Kestra's ``AbstractAvroConverter`` does for
IonToAvro and IonToParquet: the schema given (JSON text or a map) or inferred from the rows, and
each row converted to it. Text values take the schema's types (booleans from ``trueValues`` /
``falseValues``, nulls from ``nullValues``, numbers, ISO dates, times and timestamps for the
date, time and timestamp logical types, a timestamp without an offset read in ``timeZoneId``,
UTC when it is not set); a row that does not fit is handled by ``onBadLines``.

An inferred schema makes every field nullable; a struct becomes a record and a list an array of
its items' type (records of several rows merged field by field, numbers of mixed kinds a double,
dates and timestamps a timestamp, anything else mixed a string)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import fastavro

from controlplane.engine.runnable import RunContext, TaskFailed
from controlplane.spec.plugins.serdes_files import AvroConversion
from controlplane.tasks import props
from controlplane.tasks.serdes import ion_rows, plain


class _BadLine(ValueError):
    pass


class _Converter:
    """Ion values into the Python values fastavro writes for a schema, text converted."""

    def __init__(self, task: AvroConversion, ctx: RunContext) -> None:
        self.true = {v.lower() for v in props.string_list(ctx, task.trueValues, "trueValues")}
        self.false = {v.lower() for v in props.string_list(ctx, task.falseValues, "falseValues")}
        self.null = set(props.string_list(ctx, task.nullValues, "nullValues"))
        self.decimal = props.text(ctx, task.decimalSeparator)
        self.strict = props.boolean(ctx, task.strictSchema)
        name = props.optional_text(ctx, task.timeZoneId)
        try:
            self.zone: tzinfo = ZoneInfo(name) if name else UTC
        except (ZoneInfoNotFoundError, ValueError):
            raise TaskFailed(f"'timeZoneId' names no known time zone: {name!r}") from None

    def record(self, schema: dict[str, Any], value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _BadLine(f"expected a struct for record {schema.get('name')}, got {value!r}")
        fields = {f["name"] for f in schema["fields"]}
        extra = [k for k in value if k not in fields]
        if self.strict and extra:
            raise _BadLine(f"fields not in the schema: {', '.join(map(str, extra))}")
        return {
            f["name"]: self.value(f["type"], value.get(f["name"], f.get("default")), f["name"])
            for f in schema["fields"]
        }

    def value(self, schema: Any, value: Any, name: str) -> Any:
        if isinstance(schema, list):
            nothing = value is None or (isinstance(value, str) and value in self.null)
            if nothing and "null" in schema:
                return None
            errors = []
            for branch in (s for s in schema if s != "null"):
                try:
                    return self.value(branch, value, name)
                except _BadLine as exc:
                    errors.append(str(exc))
            raise _BadLine(errors[0] if errors else f"'{name}' may not be null")
        kind = schema if isinstance(schema, str) else schema.get("type")
        if isinstance(kind, dict | list):
            return self.value(kind, value, name)
        logical = schema.get("logicalType") if isinstance(schema, dict) else None
        if value is None:
            if kind == "null":
                return None
            raise _BadLine(f"'{name}' may not be null")
        try:
            return self._typed(schema, kind, logical, value, name)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise _BadLine(
                f"'{name}': cannot convert {value!r} to {logical or kind}: {exc}"
            ) from None

    def _typed(self, schema: Any, kind: str, logical: str | None, value: Any, name: str) -> Any:
        if logical == "date":
            return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
        if logical and logical.startswith(("timestamp", "local-timestamp")):
            if isinstance(value, datetime):
                parsed = value
            else:
                parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            if logical.startswith("local"):
                return parsed.replace(tzinfo=None)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=self.zone)
        if logical in ("time-millis", "time-micros"):
            return value if isinstance(value, time) else time.fromisoformat(str(value))
        if logical == "decimal":
            return Decimal(str(value).replace(self.decimal, "."))
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in self.true:
                return True
            if text in self.false:
                return False
            raise ValueError("not one of trueValues or falseValues")
        if kind in ("int", "long"):
            if isinstance(value, bool):
                raise ValueError("a boolean is not a number")
            return int(Decimal(str(value).replace(self.decimal, ".")))
        if kind in ("float", "double"):
            return (
                float(str(value).replace(self.decimal, "."))
                if isinstance(value, str)
                else float(value)
            )
        if kind == "string":
            return value if isinstance(value, str) else json.dumps(plain(value))
        if kind == "bytes":
            return value if isinstance(value, bytes) else str(value).encode()
        if kind == "record":
            return self.record(schema, value)
        if kind == "array":
            return [self.value(schema["items"], v, name) for v in value]
        if kind == "map":
            return {str(k): self.value(schema["values"], v, name) for k, v in value.items()}
        if kind == "enum":
            if str(value) not in schema["symbols"]:
                raise ValueError(f"not one of {schema['symbols']}")
            return str(value)
        return value


def inferred_schema(rows: Iterable[Any]) -> dict[str, Any]:
    """A record schema that the struct rows fit, every field nullable."""
    merged: Any = None
    for row in rows:
        if isinstance(row, dict):
            merged = _merge(merged, _avro_type(row, "Record"))
    if merged is None:
        merged = {"type": "record", "name": "Record", "fields": []}
    schema: dict[str, Any] = _nullable_fields(merged)
    return schema


def _avro_type(value: Any, path: str) -> Any:
    """The Avro type of one value, None for null; records are named by their path."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float | Decimal):
        return "double"
    if isinstance(value, datetime):
        return {"type": "long", "logicalType": "timestamp-millis"}
    if isinstance(value, date):
        return {"type": "int", "logicalType": "date"}
    if isinstance(value, dict):
        fields = [{"name": str(k), "type": _avro_type(v, f"{path}_{k}")} for k, v in value.items()]
        return {"type": "record", "name": re.sub(r"\W", "_", path), "fields": fields}
    if isinstance(value, list):
        items: Any = None
        for item in value:
            items = _merge(items, _avro_type(item, path + "_item"))
        return {"type": "array", "items": items}
    return "string"


def _kind(avro: Any) -> Any:
    return avro.get("type") if isinstance(avro, dict) else avro


def _merge(a: Any, b: Any) -> Any:
    """One type that values of types ``a`` and ``b`` both fit (None: only nulls seen)."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    kinds = {_kind(a), _kind(b)}
    if kinds == {"record"}:
        fields = {f["name"]: f["type"] for f in a["fields"]}
        for field in b["fields"]:
            fields[field["name"]] = _merge(fields.get(field["name"]), field["type"])
        return {**a, "fields": [{"name": k, "type": v} for k, v in fields.items()]}
    if kinds == {"array"}:
        return {"type": "array", "items": _merge(a["items"], b["items"])}
    if kinds == {"long", "double"}:
        return "double"
    moments = {"date", "timestamp-millis"}
    if {_logical(a), _logical(b)} <= moments:
        return {"type": "long", "logicalType": "timestamp-millis"}
    return "string"


def _logical(avro: Any) -> Any:
    return avro.get("logicalType") if isinstance(avro, dict) else None


def _nullable_fields(avro: Any) -> Any:
    """Every field of the records (and array items) nullable, "string" where only nulls were
    seen."""
    kind = _kind(avro)
    if kind == "record":
        fields = [
            {"name": f["name"], "type": ["null", _nullable_fields(f["type"])], "default": None}
            for f in avro["fields"]
        ]
        return {**avro, "fields": fields}
    if kind == "array":
        return {"type": "array", "items": ["null", _nullable_fields(avro["items"])]}
    return "string" if avro is None else avro


@dataclass(frozen=True)
class Converted:
    """The schema as written (``schema``), as fastavro parsed it, and the records."""

    schema: dict[str, Any]
    parsed: Any
    records: list[dict[str, Any]]


def _schema(task: AvroConversion, ctx: RunContext, rows: list[Any]) -> dict[str, Any]:
    if task.schema_ is None:
        scanned = rows
        if not props.boolean(ctx, task.inferAllFields):
            scanned = rows[: props.integer(ctx, task.numberOfRowsToScan, "numberOfRowsToScan")]
        return inferred_schema(scanned)
    if isinstance(task.schema_, str):
        try:
            raw: Any = json.loads(props.text(ctx, task.schema_))
        except ValueError:
            raise TaskFailed("'schema' is not valid JSON: an Avro schema") from None
    else:
        raw = ctx.render(task.schema_)
    if not isinstance(raw, dict) or raw.get("type") != "record":
        raise TaskFailed("'schema' must be an Avro record schema")
    return raw


def convert_rows(task: AvroConversion, ctx: RunContext) -> Converted:
    """The task's Ion rows as records of its schema, bad rows handled by ``onBadLines``."""
    rows = list(ion_rows(ctx, task.from_, "UTF-8"))
    schema = _schema(task, ctx, rows)
    try:
        parsed = fastavro.parse_schema(schema)
    except Exception as exc:  # fastavro raises SchemaParseException and others
        raise TaskFailed(f"'schema' is not a valid Avro schema: {exc}") from None
    converter = _Converter(task, ctx)
    records = []
    for number, row in enumerate(rows, start=1):
        try:
            records.append(converter.record(schema, row))
        except _BadLine as exc:
            if task.onBadLines == "ERROR":
                raise TaskFailed(f"row {number} does not fit the schema: {exc}") from None
            if task.onBadLines == "WARN":
                ctx.warning(f"row {number} skipped: {exc}")
    return Converted(schema, parsed, records)
