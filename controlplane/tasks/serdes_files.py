"""Excel (openpyxl) and Avro (fastavro) files to and from Ion, the serdes family's binary formats.

Excel: a workbook written by IonToExcel has one sheet per Ion file, a header row of the first
row's keys, and values of their own type (numbers, booleans, dates; maps and lists as JSON text).
ExcelToIon reads every sheet (or those named) into one Ion file each.

Avro: IonToAvro writes an Avro container file of the records controlplane/tasks/avro_records.py
makes of the rows (the schema given or inferred, text values converted to its types).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import fastavro
import openpyxl
from openpyxl.styles import Font
from openpyxl.utils.datetime import to_excel

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.serdes_files import AvroToIon, ExcelToIon, IonToAvro, IonToExcel
from controlplane.tasks import props
from controlplane.tasks.avro_records import convert_rows
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


@runs(IonToAvro)
def run_ion_to_avro(task: IonToAvro, ctx: RunContext) -> dict[str, Any]:
    converted = convert_rows(task, ctx)
    buffer = io.BytesIO()
    fastavro.writer(buffer, converted.parsed, converted.records)
    ctx.metric("records", len(converted.records))
    return {"uri": ctx.put_file("data.avro", buffer.getvalue()), "size": len(converted.records)}


@runs(AvroToIon)
def run_avro_to_ion(task: AvroToIon, ctx: RunContext) -> dict[str, Any]:
    data = read_bytes(ctx, props.text(ctx, task.from_))
    try:
        records = list(fastavro.reader(io.BytesIO(data)))
    except Exception as exc:  # fastavro raises ValueError, EOFError and its own kinds
        raise TaskFailed(f"{props.text(ctx, task.from_)} is not an Avro file: {exc}") from None
    outputs = write_ion(ctx, records)
    return {**outputs, "size": len(records)}
