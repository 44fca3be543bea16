"""What becomes of the rows of a result set, as ``fetchType`` says, for every driver.

FETCH puts them in ``rows``, FETCH_ONE the first in ``row``, STORE writes them to a ``.ion``
file in internal storage (``uri``) and NONE drops them. Values become JSON outputs: dates and
times as ISO-8601 text, bytes as base64.
"""

from __future__ import annotations

import base64
import contextlib
import math
import secrets
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, TaskKilled
from controlplane.spec.durations import format_duration
from controlplane.spec.plugins.jdbc import FETCH_TYPES, JdbcQueryTask
from controlplane.tasks import props
from controlplane.tasks.ion import to_ion


def _to_output(value: Any) -> Any:
    """A database value as a JSON output: dates and times as ISO-8601 text, bytes as base64."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _non_finite(value)
    if isinstance(value, Decimal):
        return _decimal_output(value)
    if isinstance(value, datetime):
        return _iso_datetime(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, list | tuple):
        return [_to_output(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _to_output(item) for key, item in value.items()}
    return str(value)


def _non_finite(value: float) -> str:
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _decimal_output(value: Decimal) -> int | float | str:
    if not value.is_finite():
        return _non_finite(float(value))
    if value == value.to_integral_value() and value.as_tuple().exponent == 0:
        return int(value)
    number = float(value)
    return number if Decimal(repr(number)) == value else str(value)


def _iso_datetime(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class Collected:
    """The rows of one output, kept as ``fetchType`` says; a STORE file is written row by row."""

    def __init__(self, fetch_type: str, ctx: RunContext, file_name: str) -> None:
        self.fetch_type = fetch_type
        self.ctx = ctx
        self.file_name = file_name
        self.size = 0
        self.rows: list[dict[str, Any]] = []
        self.row: dict[str, Any] | None = None
        self.path: Path | None = None
        self.result_sets = 0

    def add(self, rows: Iterator[dict[str, Any]]) -> int:
        """Take the rows of one result set; returns how many were fetched."""
        self.result_sets += 1
        if self.fetch_type == "NONE":
            return 0
        if self.fetch_type == "FETCH_ONE":
            first = next(rows, None) if self.size == 0 else None
            if first is not None:
                self.row, self.size = _to_output(first), 1
            return int(first is not None)
        count = 0
        with contextlib.ExitStack() as stack:
            out = (
                stack.enter_context(self._file().open("a", encoding="utf-8"))
                if self.fetch_type == "STORE"
                else None
            )
            for row in rows:
                if count % 1000 == 0 and self.ctx.cancelled.is_set():
                    raise TaskKilled("stopped while fetching rows")
                if out is None:
                    self.rows.append(_to_output(row))
                else:
                    out.write(to_ion(row) + "\n")
                count += 1
        self.size += count
        return count

    def _file(self) -> Path:
        if self.path is None:
            self.path = self.ctx.working_dir / f".weir-{secrets.token_hex(4)}-{self.file_name}"
            self.path.touch()
        return self.path

    def outputs(self) -> dict[str, Any]:
        if not self.result_sets:
            return {}
        if self.fetch_type == "FETCH":
            return {"rows": self.rows, "size": self.size}
        if self.fetch_type == "FETCH_ONE":
            return {"row": self.row, "size": self.size}
        if self.fetch_type == "STORE":
            path = self._file()
            uri = self.ctx.put_file(self.file_name, path)
            path.unlink(missing_ok=True)
            return {"uri": uri, "size": self.size}
        return {}


def fetch_type(task: JdbcQueryTask, ctx: RunContext) -> str:
    """``fetchType``, unless a deprecated boolean says otherwise (in Kestra's order)."""
    if task.fetch:
        return "FETCH"
    if task.fetchOne:
        return "FETCH_ONE"
    if task.store:
        return "STORE"
    value = props.text(ctx, task.fetchType).upper()
    if value not in FETCH_TYPES:
        raise TaskFailed(f"'fetchType' must be one of {', '.join(FETCH_TYPES)}, got '{value}'")
    return value
