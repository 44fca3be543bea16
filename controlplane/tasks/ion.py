"""Amazon Ion text, what Kestra's stored rows and diffs hold: one value per line."""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from controlplane.spec.durations import format_duration

_ION_SYMBOL = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_ION_KEYWORDS = {"null", "true", "false", "nan"}
_ION_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


def to_ion(value: Any) -> str:
    """A database value as Amazon Ion text (what Kestra's STORE files hold)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _ion_float(value)
    if isinstance(value, Decimal):
        return _ion_decimal(value)
    if isinstance(value, datetime):
        return _ion_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "{{" + base64.b64encode(bytes(value)).decode("ascii") + "}}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_ion(item) for item in value) + "]"
    if isinstance(value, Mapping):
        fields = (f"{_ion_field(str(k))}:{to_ion(v)}" for k, v in value.items())
        return "{" + ",".join(fields) + "}"
    if isinstance(value, timedelta):
        return _ion_text(format_duration(value), '"')
    if isinstance(value, time):
        return _ion_text(value.isoformat(), '"')
    return _ion_text(str(value), '"')


def _ion_float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    text = repr(value)
    return text if "e" in text else text + "e0"


def _ion_decimal(value: Decimal) -> str:
    if not value.is_finite():
        return _ion_float(float(value))
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if -20 <= exponent <= 0:
        text = format(value, "f")
        return text if "." in text else text + "."
    return ("-" if sign else "") + "".join(map(str, digits)) + f"d{exponent}"


def _ion_timestamp(value: datetime) -> str:
    text = value.replace(tzinfo=None).isoformat()
    offset = value.utcoffset()
    if offset is None:
        return text + "-00:00"
    minutes = round(offset.total_seconds() / 60)
    if minutes == 0:
        return text + "Z"
    sign, minutes = ("-", -minutes) if minutes < 0 else ("+", minutes)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _ion_field(name: str) -> str:
    if _ION_SYMBOL.fullmatch(name) and name not in _ION_KEYWORDS:
        return name
    return _ion_text(name, "'")


def _ion_text(text: str, quote: str) -> str:
    out = []
    for char in text:
        if char in _ION_ESCAPES:
            out.append(_ION_ESCAPES[char])
        elif char == quote:
            out.append("\\" + quote)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return quote + "".join(out) + quote
