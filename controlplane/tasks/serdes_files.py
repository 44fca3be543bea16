"""Excel (openpyxl) and Avro (fastavro) files to and from Ion, the serdes family's binary formats.

Excel: a workbook written by IonToExcel has one sheet per Ion file, a header row of the first
row's keys, and values of their own type (numbers, booleans, dates; maps and lists as JSON text).
ExcelToIon reads every sheet (or those named) into one Ion file each.

Avro: IonToAvro writes an Avro container file; text values are converted to the types the
schema declares, as Kestra's converter does (booleans from ``trueValues``/``falseValues``, nulls
from ``nullValues``, numbers, ISO dates and timestamps for the date and timestamp logical
types). Without a ``schema`` one is inferred from the first rows, every field nullable.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import fastavro
import openpyxl
from openpyxl.styles import Font
from openpyxl.utils.datetime import to_excel

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.serdes_files import AvroToIon, ExcelToIon, IonToAvro, IonToExcel
from controlplane.tasks import props
from controlplane.tasks.serdes import ion_rows, plain, write_ion
from controlplane.tasks.storage import read_bytes

# -- Excel --------------------------------------------------------------------------------------


def _zone(ctx: RunContext, value: str | None) -> ZoneInfo | None:
    name = props.optional_text(ctx, value)
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TaskFailed(f"'timeZoneId' names no known time zone: {name!r}") from None


def _cell(value: Any, zone: ZoneInfo | None) -> Any:
    """A value as a cell holds it (Excel has no time zones: a timestamp is shown in ``zone``)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(zone or UTC).replace(tzinfo=None)
        return value
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    if isinstance(value, dict | list):
        return json.dumps(plain(value))
    if isinstance(value, bytes):
        return plain(value)
    return value


@runs(IonToExcel)
def run_ion_to_excel(task: IonToExcel, ctx: RunContext) -> dict[str, Any]:
    sources = task.from_ if isinstance(task.from_, dict) else {task.sheetsTitle: task.from_}
    charset = task.charset
    header = props.boolean(ctx, task.header)
    styles = props.boolean(ctx, task.styles)
    zone = _zone(ctx, task.timeZoneId)
    formats = {
        datetime: _excel_format(props.text(ctx, task.dateTimeFormat)),
        date: _excel_format(props.text(ctx, task.dateFormat)),
    }
    workbook = openpyxl.Workbook(write_only=True)
    total = 0
    for title, uri in sources.items():
        sheet = workbook.create_sheet(props.text(ctx, title)[:31])
        keys: list[str] | None = None
        for row in ion_rows(ctx, uri, charset):
            values = row if isinstance(row, dict) else {"value": row}
            if keys is None:
                keys = [str(k) for k in values]
                if header:
                    sheet.append([_header_cell(sheet, k, styles) for k in keys])
            cells = []
            for key in keys:
                value = _cell(values.get(key), zone)
                if styles and type(value) in formats:
                    cell = openpyxl.cell.WriteOnlyCell(sheet, value)
                    cell.number_format = formats[type(value)]
                    value = cell
                cells.append(value)
            sheet.append(cells)
            total += 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    ctx.metric("records", total)
    return {"uri": ctx.put_file("data.xlsx", buffer.getvalue()), "size": total}


def _header_cell(sheet: Any, key: str, styles: bool) -> Any:
    if not styles:
        return key
    cell = openpyxl.cell.WriteOnlyCell(sheet, key)
    cell.font = Font(bold=True)
    return cell


def _excel_format(java: str) -> str:
    """A Java date pattern (``yyyy-MM-dd HH:mm:ss``) as Excel writes it."""
    return java.replace("MM", "mm").replace("HH", "hh").replace("'T'", "T")


@runs(ExcelToIon)
def run_excel_to_ion(task: ExcelToIon, ctx: RunContext) -> dict[str, Any]:
    data = read_bytes(ctx, props.text(ctx, task.from_))
    formula = task.valueRender == "FORMULA"
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=not formula)
    except Exception as exc:  # openpyxl raises several kinds for a file that is no workbook
        raise TaskFailed(f"{props.text(ctx, task.from_)} is not an XLSX workbook: {exc}") from None
    wanted = props.string_list(ctx, task.sheetsTitle, "sheetsTitle") or workbook.sheetnames
    missing = [title for title in wanted if title not in workbook.sheetnames]
    if missing:
        raise TaskFailed(f"the workbook has no sheet {', '.join(repr(t) for t in missing)}")
    header = props.boolean(ctx, task.header)
    skip_empty = props.boolean(ctx, task.skipEmptyRows)
    uris: dict[str, str] = {}
    total = 0
    for title in wanted:
        rows = list(_sheet_rows(task, workbook[title], header, skip_empty))
        total += len(rows)
        uris[title] = write_ion(ctx, rows)["uri"]
    ctx.metric("sheets", len(wanted))
    return {"uris": uris, "size": total}


def _sheet_rows(task: ExcelToIon, sheet: Any, header: bool, skip_empty: bool) -> Iterator[Any]:
    keys: list[str] | None = None
    for index, raw in enumerate(sheet.iter_rows(values_only=True)):
        if index < task.skipRows:
            continue
        values = [_read_cell(task, value) for value in raw]
        if skip_empty and all(value is None for value in values):
            continue
        if header and keys is None:
            keys = [
                str(value) if value is not None else f"column{i}" for i, value in enumerate(values)
            ]
            continue
        if keys is None:
            yield values
        else:
            yield {key: values[i] if i < len(values) else None for i, key in enumerate(keys)}


def _read_cell(task: ExcelToIon, value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        if task.dateTimeRender == "SERIAL_NUMBER" and not isinstance(value, time):
            return to_excel(value)
        if task.dateTimeRender == "FORMATTED_STRING":
            return value.isoformat()
        return value
    if task.valueRender == "FORMATTED_VALUE" and value is not None:
        return str(value)
    return value


# -- Avro ---------------------------------------------------------------------------------------


class _BadLine(ValueError):
    pass


class _Converter:
    """Ion values into the Python values fastavro writes for a schema, text converted."""

    def __init__(self, task: IonToAvro, ctx: RunContext) -> None:
        self.true = {v.lower() for v in props.string_list(ctx, task.trueValues, "trueValues")}
        self.false = {v.lower() for v in props.string_list(ctx, task.falseValues, "falseValues")}
        self.null = set(props.string_list(ctx, task.nullValues, "nullValues"))
        self.decimal = props.text(ctx, task.decimalSeparator)
        self.strict = props.boolean(ctx, task.strictSchema)

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
        if logical and logical.startswith("timestamp"):
            if isinstance(value, datetime):
                return value
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
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


def _inferred(rows: Iterable[Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for row in rows:
        if not isinstance(row, dict):
            continue
        for key, value in row.items():
            if value is not None and fields.get(key) in (None, "null"):
                fields[key] = _avro_type(value)
            fields.setdefault(key, "null")
    return {
        "type": "record",
        "name": "Record",
        "fields": [
            {"name": key, "type": ["null", "string" if kind == "null" else kind], "default": None}
            for key, kind in fields.items()
        ],
    }


def _avro_type(value: Any) -> Any:
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
    return "string"


@runs(IonToAvro)
def run_ion_to_avro(task: IonToAvro, ctx: RunContext) -> dict[str, Any]:
    rows = list(ion_rows(ctx, task.from_, "UTF-8"))
    if task.schema_ is None:
        raw_schema: Any = _inferred(rows[: props.integer(ctx, task.numberOfRowsToScan, "n")])
    elif isinstance(task.schema_, str):
        try:
            raw_schema = json.loads(props.text(ctx, task.schema_))
        except ValueError:
            raise TaskFailed("'schema' is not valid JSON: an Avro schema") from None
    else:
        raw_schema = ctx.render(task.schema_)
    try:
        schema = fastavro.parse_schema(raw_schema)
    except Exception as exc:  # fastavro raises SchemaParseException and others
        raise TaskFailed(f"'schema' is not a valid Avro schema: {exc}") from None
    if not isinstance(raw_schema, dict) or raw_schema.get("type") != "record":
        raise TaskFailed("'schema' must be an Avro record schema")
    converter = _Converter(task, ctx)
    records = []
    for number, row in enumerate(rows, start=1):
        try:
            records.append(converter.record(raw_schema, row))
        except _BadLine as exc:
            if task.onBadLines == "ERROR":
                raise TaskFailed(f"row {number} does not fit the schema: {exc}") from None
            if task.onBadLines == "WARN":
                ctx.warning(f"row {number} skipped: {exc}")
    buffer = io.BytesIO()
    fastavro.writer(buffer, schema, records)
    ctx.metric("records", len(records))
    return {"uri": ctx.put_file("data.avro", buffer.getvalue()), "size": len(records)}


@runs(AvroToIon)
def run_avro_to_ion(task: AvroToIon, ctx: RunContext) -> dict[str, Any]:
    data = read_bytes(ctx, props.text(ctx, task.from_))
    try:
        records = list(fastavro.reader(io.BytesIO(data)))
    except Exception as exc:  # fastavro raises ValueError, EOFError and its own kinds
        raise TaskFailed(f"{props.text(ctx, task.from_)} is not an Avro file: {exc}") from None
    outputs = write_ion(ctx, records)
    return {**outputs, "size": len(records)}
