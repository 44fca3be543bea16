"""File converters of the serdes family: CSV, JSON, JSON lines and YAML to and from Ion.

Ion files hold one value per line (a struct per row), as Kestra stores query results. CSV
fields read as text (``\\N`` is null), as Kestra's reader gives them; values written to CSV and
JSON keep their type: dates and timestamps as ISO-8601 text, decimals as numbers.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import secrets
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import yaml

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.serdes import (
    CsvToIon,
    IonToCsv,
    IonToJson,
    IonToYaml,
    JsonToIon,
    JsonToJsonl,
    JsonToYaml,
    YamlToIon,
    YamlToJson,
)
from controlplane.tasks import props
from controlplane.tasks.ion import to_ion
from controlplane.tasks.ion_text import IonError, read_values
from controlplane.tasks.storage import read_bytes


def _source(ctx: RunContext, uri: str, charset: str) -> str:
    try:
        return read_bytes(ctx, props.text(ctx, uri)).decode(props.text(ctx, charset))
    except LookupError:
        raise TaskFailed(f"'{charset}' is not a known charset") from None


def _store(ctx: RunContext, suffix: str, text: str, charset: str = "UTF-8") -> str:
    return ctx.put_file(secrets.token_hex(8) + suffix, text.encode(props.text(ctx, charset)))


def ion_rows(ctx: RunContext, uri: str, charset: str) -> Iterator[Any]:
    try:
        yield from read_values(_source(ctx, uri, charset))
    except IonError as exc:
        raise TaskFailed(f"{props.text(ctx, uri)} is not an Ion file: {exc}") from None


def write_ion(ctx: RunContext, rows: Iterable[Any]) -> dict[str, Any]:
    count = 0
    lines = []
    for row in rows:
        lines.append(to_ion(row))
        count += 1
    ctx.metric("records", count)
    return {"uri": _store(ctx, ".ion", "".join(line + "\n" for line in lines))}


def plain(value: Any) -> Any:
    """An Ion value as JSON-friendly data: ISO-8601 text for dates, numbers for decimals."""
    if isinstance(value, Decimal):
        return float(value) if "." in str(value) or "E" in str(value) else int(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@runs(CsvToIon)
def run_csv_to_ion(task: CsvToIon, ctx: RunContext) -> dict[str, Any]:
    text = _source(ctx, task.from_, task.charset)
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=props.text(ctx, task.fieldSeparator)[:1] or ",",
        quotechar=props.text(ctx, task.textDelimiter)[:1] or '"',
    )
    return write_ion(ctx, _csv_rows(task, ctx, reader))


def _csv_rows(task: CsvToIon, ctx: RunContext, reader: Iterator[list[str]]) -> Iterator[Any]:
    header = props.boolean(ctx, task.header)
    skip_empty = props.boolean(ctx, task.skipEmptyRows)
    to_skip = task.skipRows
    names: list[str] | None = None
    for number, record in enumerate(reader, 1):
        if skip_empty and not any(record):
            continue
        if header and names is None:
            names = record
            continue
        if to_skip > 0:
            to_skip -= 1
            continue
        fields: list[str | None] = [None if f == "\\N" else f for f in record]
        if names is None:
            yield fields
            continue
        if len(fields) != len(names):
            message = (
                f"Bad line encountered (field count mismatch) at line {number}: expected "
                f"{len(names)}, got {len(fields)} fields"
            )
            if task.onBadLines == "ERROR":
                raise TaskFailed(message)
            if task.onBadLines == "WARN":
                ctx.warning(message)
            continue
        yield dict(zip(names, fields, strict=True))


@runs(IonToCsv)
def run_ion_to_csv(task: IonToCsv, ctx: RunContext) -> dict[str, Any]:
    out = io.StringIO()
    always = props.boolean(ctx, task.alwaysDelimitText)
    writer = csv.writer(
        out,
        delimiter=props.text(ctx, task.fieldSeparator)[:1] or ",",
        quotechar=props.text(ctx, task.textDelimiter)[:1] or '"',
        lineterminator=props.text(ctx, task.lineDelimiter),
        quoting=csv.QUOTE_ALL if always else csv.QUOTE_MINIMAL,
    )
    header = props.boolean(ctx, task.header)
    names: list[str] | None = None
    for row in ion_rows(ctx, task.from_, "UTF-8"):
        if isinstance(row, dict):
            if names is None:
                names = [str(k) for k in row]
                if header:
                    writer.writerow(names)
            writer.writerow([_csv_field(row.get(name)) for name in names])
        elif isinstance(row, list):
            writer.writerow([_csv_field(v) for v in row])
        else:
            writer.writerow([_csv_field(row)])
    return {"uri": _store(ctx, ".csv", out.getvalue(), task.charset)}


def _csv_field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    data = plain(value)
    if isinstance(data, dict | list):
        return json.dumps(data)
    return data if isinstance(data, str) else str(data)


@runs(JsonToIon)
def run_json_to_ion(task: JsonToIon, ctx: RunContext) -> dict[str, Any]:
    text = _source(ctx, task.from_, task.charset)
    try:
        if props.boolean(ctx, task.newLine):
            rows: list[Any] = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            document = json.loads(text)
            rows = document if isinstance(document, list) else [document]
    except ValueError as exc:
        raise TaskFailed(f"{props.text(ctx, task.from_)} is not valid JSON: {exc}") from None
    return write_ion(ctx, rows)


@runs(IonToJson)
def run_ion_to_json(task: IonToJson, ctx: RunContext) -> dict[str, Any]:
    rows = [plain(row) for row in ion_rows(ctx, task.from_, task.charset)]
    if props.boolean(ctx, task.newLine):
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        suffix = ".jsonl"
    else:
        text = json.dumps(rows, ensure_ascii=False)
        suffix = ".json"
    return {"uri": _store(ctx, suffix, text, task.charset)}


@runs(JsonToJsonl)
def run_json_to_jsonl(task: JsonToJsonl, ctx: RunContext) -> dict[str, Any]:
    document = _json(ctx, task.from_, task.charset)
    rows = document if isinstance(document, list) else [document]
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return {"uri": _store(ctx, ".jsonl", text, task.charset)}


def _json(ctx: RunContext, uri: str, charset: str) -> Any:
    try:
        return json.loads(_source(ctx, uri, charset))
    except ValueError as exc:
        raise TaskFailed(f"{props.text(ctx, uri)} is not valid JSON: {exc}") from None


def _yaml(ctx: RunContext, uri: str, charset: str) -> list[Any]:
    try:
        return list(yaml.safe_load_all(_source(ctx, uri, charset)))
    except yaml.YAMLError as exc:
        raise TaskFailed(f"{props.text(ctx, uri)} is not valid YAML: {exc}") from None


@runs(YamlToIon)
def run_yaml_to_ion(task: YamlToIon, ctx: RunContext) -> dict[str, Any]:
    return write_ion(ctx, _yaml(ctx, task.from_, task.charset))


@runs(IonToYaml)
def run_ion_to_yaml(task: IonToYaml, ctx: RunContext) -> dict[str, Any]:
    rows = [plain(row) for row in ion_rows(ctx, task.from_, task.charset)]
    text = yaml.safe_dump_all(rows, sort_keys=False, allow_unicode=True)
    return {"uri": _store(ctx, ".yml", text, task.charset)}


@runs(JsonToYaml)
def run_json_to_yaml(task: JsonToYaml, ctx: RunContext) -> dict[str, Any]:
    document = _json(ctx, task.from_, task.charset)
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    return {"uri": _store(ctx, ".yml", text, task.charset)}


@runs(YamlToJson)
def run_yaml_to_json(task: YamlToJson, ctx: RunContext) -> dict[str, Any]:
    documents = [plain(d) for d in _yaml(ctx, task.from_, task.charset)]
    text = json.dumps(documents[0] if len(documents) == 1 else documents, ensure_ascii=False)
    return {"uri": _store(ctx, ".json", text, task.charset)}
