"""File converters of the serdes family: CSV, JSON, JSON lines and YAML to and from Ion.

Ion files hold one value per line (a struct per row), as Kestra stores query results. CSV
fields read as text (``\\N`` is null), as Kestra's reader gives them; values written to CSV and
JSON keep their type: dates and timestamps as ISO-8601 text, decimals as numbers.
"""

from __future__ import annotations

import base64
import codecs
import csv
import io
import json
import re
import secrets
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import yaml

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.expr import javatime
from controlplane.expr.errors import ExpressionError
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
    """The file's text; a UTF-8 byte order mark is dropped (in another charset those bytes are
    text)."""
    name = props.text(ctx, charset)
    try:
        utf8 = codecs.lookup(name).name == "utf-8"
        return read_bytes(ctx, props.text(ctx, uri)).decode("utf-8-sig" if utf8 else name)
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
    return {"uri": _store(ctx, ".ion", "".join(line + "\n" for line in lines)), "size": count}


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
    width = 0
    for number, record in enumerate(reader, 1):
        if skip_empty and not any(record):
            continue
        if header and names is None:
            names, width = _header(task, ctx, record), len(record)
            continue
        if to_skip > 0:
            to_skip -= 1
            continue
        fields: list[str | None] = [None if f == "\\N" else f for f in record]
        if names is None:
            yield fields
            continue
        if len(fields) != width:
            message = (
                f"Bad line encountered (field count mismatch) at line {number}: expected "
                f"{width}, got {len(fields)} fields"
            )
            if task.onBadLines == "ERROR":
                raise TaskFailed(message)
            if task.onBadLines == "WARN":
                ctx.warning(message)
            continue
        yield dict(zip(names, fields[: len(names)], strict=True))


def _header(task: CsvToIon, ctx: RunContext, names: list[str]) -> list[str]:
    """The keys of the rows, by ``onEmptyHeader``: RENAME names each unnamed column
    ``col_<index>``; DROP leaves out the trailing unnamed ones (a trailing separator)."""
    if task.onEmptyHeader == "RENAME":
        taken = set(names)
        renamed = []
        for index, name in enumerate(names):
            if not name:
                name = f"col_{index}"
                attempt = 2
                while name in taken:
                    name, attempt = f"col_{index}_{attempt}", attempt + 1
                taken.add(name)
            renamed.append(name)
        return renamed
    named = [index for index, name in enumerate(names) if name]
    kept = names[: (named[-1] if named else len(names) - 1) + 1]
    if len(kept) < len(names):
        ctx.warning(
            f"Dropped {len(names) - len(kept)} trailing unnamed header column(s); their values "
            "are not emitted. Set onEmptyHeader to RENAME to keep them."
        )
    if len(set(kept)) < len(kept):
        ctx.warning(
            "The header repeats a column name (or leaves one empty): only the last value of "
            "such columns is kept. Set onEmptyHeader to RENAME to keep every unnamed column."
        )
    return kept


_NUMERIC = re.compile(r"[+-]?[0-9]*\.?[0-9]*")


class _CsvLines:
    """CSV lines quoted by Kestra's ``quoteMode``: ALWAYS quotes every field (null and empty
    ones too), REQUIRED only those holding the separator, the quote or a line break,
    NON_NUMERIC also every non-empty field that is not a plain number (``-1``, ``2.5``)."""

    def __init__(self, task: IonToCsv, ctx: RunContext) -> None:
        self.separator = props.text(ctx, task.fieldSeparator)[:1] or ","
        self.quote = props.text(ctx, task.textDelimiter)[:1] or '"'
        self.end = props.text(ctx, task.lineDelimiter)
        mode = task.quoteMode
        if mode is None:
            mode = "ALWAYS" if props.boolean(ctx, task.alwaysDelimitText) else "REQUIRED"
        self.mode = mode

    def line(self, fields: Iterable[str | None]) -> str:
        return self.separator.join(self._field(field) for field in fields) + self.end

    def _field(self, value: str | None) -> str:
        text = value or ""
        if self.mode == "ALWAYS" or self._required(text) or self._non_numeric(text):
            return self.quote + text.replace(self.quote, self.quote * 2) + self.quote
        return text

    def _required(self, text: str) -> bool:
        return any(char in text for char in (self.separator, self.quote, "\r", "\n"))

    def _non_numeric(self, text: str) -> bool:
        if self.mode != "NON_NUMERIC" or not text:
            return False
        return not (_NUMERIC.fullmatch(text) and any(c.isdigit() for c in text))


@runs(IonToCsv)
def run_ion_to_csv(task: IonToCsv, ctx: RunContext) -> dict[str, Any]:
    lines, values = _CsvLines(task, ctx), _CsvValues(task, ctx)
    out: list[str] = []
    header = props.boolean(ctx, task.header)
    names: list[str] | None = None
    for number, row in enumerate(ion_rows(ctx, task.from_, "UTF-8"), 1):
        if isinstance(row, dict):
            if names is None:
                names = [str(k) for k in row]
                if header:
                    out.append(lines.line(names))
            out.append(lines.line(values.field(row.get(name)) for name in names))
        elif isinstance(row, list):
            if header:
                raise TaskFailed(
                    f"row {number} is a list, which has no column names: set 'header' to false"
                )
            out.append(lines.line(values.field(v) for v in row))
        else:
            out.append(lines.line([values.field(row)]))
    size = len(out) - (1 if header and names is not None else 0)
    ctx.metric("records", size)
    return {"uri": _store(ctx, ".csv", "".join(out), task.charset), "size": size}


class _CsvValues:
    """Values as Kestra's text writers print them: dates, times and timestamps by the task's
    Java patterns (a ``[...]`` section only where the value has what it prints: a timestamp is
    in ``timeZoneId``, or UTC, so it has an offset; a time of day has one only if it was given
    one), other scalars as text, structs and lists as JSON."""

    def __init__(self, task: IonToCsv, ctx: RunContext) -> None:
        self.date = props.text(ctx, task.dateFormat)
        self.time = props.text(ctx, task.timeFormat)
        self.moment = props.text(ctx, task.dateTimeFormat)
        name = props.optional_text(ctx, task.timeZoneId)
        try:
            self.zone = javatime.zone(name) if name else UTC
        except ExpressionError:
            raise TaskFailed(f"'timeZoneId' names no known time zone: {name!r}") from None

    def field(self, value: Any) -> str | None:
        if isinstance(value, datetime):
            zoned = value.astimezone(self.zone) if value.tzinfo else value.replace(tzinfo=UTC)
            return self._format(zoned, self.moment)
        if isinstance(value, date):
            return self._format(datetime.combine(value, time()), self.date)
        if isinstance(value, time):
            return self._format(datetime.combine(date(1970, 1, 1), value), self.time)
        return _csv_field(value)

    @staticmethod
    def _format(value: datetime, pattern: str) -> str:
        if value.tzinfo is None:
            pattern = _OPTIONAL.sub(lambda m: "" if _ZONED.search(m[1]) else m[1], pattern)
        try:
            return javatime.format_date(value, pattern.replace("[", "").replace("]", ""))
        except ExpressionError as exc:
            raise TaskFailed(f"date pattern {pattern!r}: {exc}") from None


_OPTIONAL = re.compile(r"\[([^\]]*)\]")
_ZONED = re.compile(r"[XxZzOV]")


def _csv_field(value: Any) -> str | None:
    if value is None:
        return None
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
    return {"uri": _store(ctx, suffix, text, task.charset), "size": len(rows)}


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
    return {"uri": _store(ctx, ".yml", text, task.charset), "size": len(rows)}


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
