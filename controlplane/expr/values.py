"""How Pebble, as configured by Kestra, turns values into text and into booleans.

Printing follows Kestra's JsonWriter: maps and lists are written as compact JSON (Jackson),
``null`` prints nothing, booleans print ``true``/``false`` and doubles print as Java's
``Double.toString`` does (``1.0``, ``1.0E10``). Dates print as Java's ``toString`` of the
matching ``java.time`` type.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from jinja2 import Undefined

_FALSY_STRINGS = frozenset({"false", "0", "-0", ""})


def is_truthy(value: Any) -> bool:
    """Kestra's truth: ``false``, ``0``, ``-0``, ``null`` and ``''`` are false.

    Strings are compared trimmed and case-insensitively (Kestra's TruthUtils), because a
    condition usually arrives as rendered text: ``"False"`` and ``" 0 "`` are false, ``"null"``
    is not (a null value renders as ``""``). Empty lists and maps are false, as in Pebble's
    ``empty`` test.
    """
    if value is None or value is False:
        return False
    if value is True:
        return True
    if isinstance(value, Undefined):
        str(value)  # raises the undefined-variable error
    if isinstance(value, int | float | Decimal):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() not in _FALSY_STRINGS
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return len(value) > 0
    return True


def to_text(value: Any) -> str:
    """The text Pebble writes for a value in ``{{ }}``."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, Mapping | list | tuple):
        return to_json(value)
    if isinstance(value, dt.datetime):
        return java_datetime(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def to_json(value: Any, indent: int | None = None) -> str:
    """Compact JSON as Jackson writes it (non-ASCII kept, doubles in Java notation)."""
    if indent is not None:
        return json.dumps(jsonable(value), ensure_ascii=False, indent=indent)
    return _compact_json(value)


def _compact_json(value: Any) -> str:
    if isinstance(value, Mapping):
        items = (
            f"{json.dumps(str(k), ensure_ascii=False)}:{_compact_json(v)}" for k, v in value.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_compact_json(v) for v in value) + "]"
    if isinstance(value, float) and math.isfinite(value):
        return java_double(value)
    return json.dumps(jsonable(value), ensure_ascii=False)


def jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Undefined):
        str(value)  # raises the undefined-variable error
    return to_text(value)


def java_double(value: float) -> str:
    """``Double.toString``: plain between 1e-3 and 1e7, else ``d.dddE±n``; always a fraction."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "e" not in text else format(Decimal(text), "f")
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    numerals = "".join(map(str, digits)).rstrip("0") or "0"
    power = len(digits) + int(exponent) - 1
    mantissa = numerals[0] + "." + (numerals[1:] or "0")
    return ("-" if sign else "") + f"{mantissa}E{power}"


def java_datetime(value: dt.datetime) -> str:
    """``ZonedDateTime.toString`` (or ``LocalDateTime`` when naive): seconds and fraction only
    when non-zero, offset ``Z`` for UTC, and the region in brackets for a named zone."""
    text = value.strftime("%Y-%m-%dT%H:%M")
    if value.second or value.microsecond:
        text += f":{value.second:02d}"
    if value.microsecond:
        micros = value.microsecond
        text += f".{micros // 1000:03d}" if micros % 1000 == 0 else f".{micros:06d}"
    if value.tzinfo is None:
        return text
    offset = value.utcoffset() or dt.timedelta(0)
    text += "Z" if offset == dt.timedelta(0) else _offset(offset)
    zone_key = getattr(value.tzinfo, "key", None)
    return f"{text}[{zone_key}]" if zone_key else text


def _offset(offset: dt.timedelta) -> str:
    seconds = int(offset.total_seconds())
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return text + (f":{secs:02d}" if secs else "")
