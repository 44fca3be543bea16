"""Kestra's date filters: ``date``, ``dateAdd`` and the ``timestamp`` family."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from controlplane.expr import javatime
from controlplane.expr.errors import ExpressionError

_UNITS: dict[str, Callable[[dt.datetime, int], dt.datetime]] = {
    "NANOS": lambda d, n: d + dt.timedelta(microseconds=n / 1000),
    "MICROS": lambda d, n: d + dt.timedelta(microseconds=n),
    "MILLIS": lambda d, n: d + dt.timedelta(milliseconds=n),
    "SECONDS": lambda d, n: d + dt.timedelta(seconds=n),
    "MINUTES": lambda d, n: d + dt.timedelta(minutes=n),
    "HOURS": lambda d, n: d + dt.timedelta(hours=n),
    "HALF_DAYS": lambda d, n: d + dt.timedelta(hours=12 * n),
    "DAYS": lambda d, n: _wall_clock(d, dt.timedelta(days=n)),
    "WEEKS": lambda d, n: _wall_clock(d, dt.timedelta(weeks=n)),
    "MONTHS": lambda d, n: _plus_months(d, n),
    "YEARS": lambda d, n: _plus_months(d, 12 * n),
    "DECADES": lambda d, n: _plus_months(d, 120 * n),
    "CENTURIES": lambda d, n: _plus_months(d, 1200 * n),
    "MILLENNIA": lambda d, n: _plus_months(d, 12000 * n),
}


def _wall_clock(value: dt.datetime, delta: dt.timedelta) -> dt.datetime:
    # Java adds days on the local date-time and then re-resolves the zone offset (DST aware).
    local = value.replace(tzinfo=None) + delta
    return local.replace(tzinfo=value.tzinfo)


def _plus_months(value: dt.datetime, months: int) -> dt.datetime:
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    # Java clamps the day to the last valid day of the target month.
    next_month = dt.date(year + month // 12, month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return value.replace(year=year, month=month, day=min(value.day, last_day))


def _convert(value: Any, timeZone: str | None, existingFormat: str | None) -> dt.datetime:
    return javatime.to_datetime(value, javatime.zone(timeZone), existingFormat)


def date(
    value: Any,
    format: str = "iso",
    existingFormat: str | None = None,
    timeZone: str | None = None,
    locale: str | None = None,
) -> str | None:
    """Kestra's ``date``: convert to ``timeZone`` (UTC by default), then format.

    ``locale`` is accepted for compatibility; month and day names are English.
    """
    if value is None:
        return None
    return javatime.format_date(_convert(value, timeZone, existingFormat), format)


def date_add(
    value: Any,
    amount: int,
    unit: str,
    format: str = "iso",
    timeZone: str | None = None,
    existingFormat: str | None = None,
    locale: str | None = None,
) -> str | None:
    """Kestra's ``dateAdd``: add ``amount`` ChronoUnits, return the date formatted (iso)."""
    if value is None:
        return None
    add = _UNITS.get(str(unit).upper())
    if add is None:
        raise ExpressionError(f"unknown unit '{unit}'; use one of {', '.join(_UNITS)}")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise ExpressionError("dateAdd needs an integer amount")
    moved = add(_convert(value, timeZone, existingFormat), amount)
    return javatime.format_date(moved, format)


def _epoch(scale: int) -> Callable[..., int | None]:
    def timestamp(
        value: Any,
        timeZone: str | None = None,
        existingFormat: str | None = None,
    ) -> int | None:
        if value is None:
            return None
        moment = _convert(value, timeZone, existingFormat)
        delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return micros * 1000 // scale

    return timestamp


DATE_FILTERS: dict[str, Callable[..., Any]] = {
    "date": date,
    "dateAdd": date_add,
    "timestamp": _epoch(1_000_000_000),
    "timestampMilli": _epoch(1_000_000),
    "timestampMicro": _epoch(1_000),
    "timestampNano": _epoch(1),
}
