"""Java ``DateTimeFormatter`` patterns and Kestra's date conversions, in Python.

Patterns are tokenised the way Java does (runs of one letter, ``'quoted'`` literals, ``''`` for
a quote) and each run is formatted from an aware ``datetime``. Kestra's date filters
(``AbstractDate``) convert their input to the target zone (UTC by default, as on a Kestra server
in a container) before formatting. Integers are epoch seconds, as in Kestra's
``Instant.ofEpochSecond``; a date alone is taken at noon.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from controlplane.expr.errors import ExpressionError

UTC = dt.UTC
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_PATTERN_TOKEN = re.compile(r"'(?:[^']|'')*'|([A-Za-z])\1*|.", re.S)


def zone(name: str | None) -> dt.tzinfo:
    if name is None:
        return UTC
    if name in ("UTC", "Z", "GMT"):
        return UTC
    offset = re.fullmatch(r"(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?", name)
    if offset:
        sign = -1 if offset.group(1) == "-" else 1
        delta = dt.timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3) or 0))
        return dt.timezone(sign * delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ExpressionError(f"unknown time zone '{name}'") from exc


def to_datetime(value: object, tz: dt.tzinfo, existing_format: str | None = None) -> dt.datetime:
    """Kestra's ``AbstractDate.convert``: any date-like value as an aware datetime in ``tz``."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=tz)
        return aware.astimezone(tz)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(12), tz)
    if isinstance(value, int) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, tz)
    if not isinstance(value, str):
        raise ExpressionError(f"cannot read a date from a {type(value).__name__}")
    parsed = parse(value, existing_format) if existing_format else parse_iso(value)
    aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    return aware.astimezone(tz)


def parse_iso(text: str) -> dt.datetime:
    """ISO-8601 with ``Z``, an offset and an optional ``[Region/Zone]`` suffix."""
    cleaned = text.strip()
    region = re.search(r"\[([^\]]+)\]$", cleaned)
    if region:
        cleaned = cleaned[: region.start()]
    cleaned = re.sub(r"(\.\d{6})\d+", r"\1", cleaned)  # Python keeps microseconds only
    try:
        parsed = dt.datetime.fromisoformat(cleaned)
    except ValueError as exc:
        raise ExpressionError(f"'{text}' is not an ISO-8601 date; pass existingFormat") from exc
    if region and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(region.group(1)))
    return parsed


def parse(text: str, pattern: str) -> dt.datetime:
    """Parse ``text`` with a Java pattern or preset name."""
    if pattern in _PRESETS or pattern.lower() in ("iso", "iso_sec"):
        return parse_iso(text)
    regex, fields = _parser(pattern)
    match = re.fullmatch(regex, text.strip())
    if match is None:
        raise ExpressionError(f"'{text}' does not match the date format '{pattern}'")
    values = dict(zip(fields, match.groups(), strict=True))
    return _build(values)


def format_date(value: dt.datetime, pattern: str) -> str:
    """Format with a Kestra preset (``iso``, ``sql``, ``iso_date``...) or a Java pattern."""
    preset = _PRESETS.get(pattern)
    if preset is not None:
        return preset(value)
    return "".join(_format_token(value, token) for token in _tokens(pattern))


@lru_cache(maxsize=512)
def _tokens(pattern: str) -> tuple[str, ...]:
    return tuple(match.group() for match in _PATTERN_TOKEN.finditer(pattern))


def _format_token(value: dt.datetime, token: str) -> str:
    letter, width = token[0], len(token)
    if letter == "'":
        return "'" if token == "''" else token[1:-1].replace("''", "'")
    if not letter.isalpha():
        return token
    formatter = _FIELDS.get(letter)
    if formatter is None:
        raise ExpressionError(f"unsupported date pattern letter '{letter}'")
    return formatter(value, width)


def _number(number: int, width: int) -> str:
    return f"{number:0{width}d}"


def _text(full: str, width: int) -> str:
    if width >= 5:
        return full[0]
    return full if width == 4 else full[:3]


def _year(value: dt.datetime, width: int) -> str:
    return _number(value.year % 100, 2) if width == 2 else _number(value.year, width)


def _month(value: dt.datetime, width: int) -> str:
    if width >= 3:
        return _text(_MONTHS[value.month - 1], width)
    return _number(value.month, width)


def _fraction(value: dt.datetime, width: int) -> str:
    nanos = f"{value.microsecond:06d}000"
    return nanos[:width] if width <= 9 else nanos + "0" * (width - 9)


def _hour12(value: dt.datetime, width: int) -> str:
    return _number(value.hour % 12 or 12, width)


def _offset_x(value: dt.datetime, width: int, zero: str = "Z") -> str:
    offset = value.utcoffset() or dt.timedelta(0)
    seconds = int(offset.total_seconds())
    if seconds == 0 and zero:
        return zero
    sign = "+" if seconds >= 0 else "-"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    if width == 1:
        return f"{sign}{hours:02d}" + (f"{minutes:02d}" if minutes else "")
    if width in (2, 4):
        return f"{sign}{hours:02d}{minutes:02d}"
    return f"{sign}{hours:02d}:{minutes:02d}"


def _offset_z(value: dt.datetime, width: int) -> str:
    if width == 4:
        offset = _offset_x(value, 3, "")
        return "GMT" if offset == "+00:00" else "GMT" + offset
    if width == 5:
        return _offset_x(value, 3)
    return _offset_x(value, 2, "")


def _zone_name(value: dt.datetime, width: int) -> str:
    if width < 4:
        return value.tzname() or "UTC"
    key = getattr(value.tzinfo, "key", None)
    if key:
        return str(key)
    utc = value.utcoffset() == dt.timedelta(0)
    return "Coordinated Universal Time" if utc else _offset_z(value, 4)


def _zone_id(value: dt.datetime, width: int) -> str:
    key = getattr(value.tzinfo, "key", None)
    if key:
        return str(key)
    return "Z" if value.utcoffset() == dt.timedelta(0) else _offset_x(value, 3)


_FIELDS: dict[str, Callable[[dt.datetime, int], str]] = {
    "G": lambda v, w: "AD" if w < 4 else "Anno Domini",
    "y": _year,
    "u": _year,
    "Y": lambda v, w: _year(v.replace(year=v.isocalendar()[0]), w),
    "M": _month,
    "L": _month,
    "d": lambda v, w: _number(v.day, w),
    "D": lambda v, w: _number(v.timetuple().tm_yday, w),
    "Q": lambda v, w: _number((v.month - 1) // 3 + 1, w) if w < 3 else f"Q{(v.month - 1) // 3 + 1}",
    "w": lambda v, w: _number(v.isocalendar()[1], w),
    "E": lambda v, w: _text(_DAYS[v.weekday()], w),
    "e": lambda v, w: _number(v.isoweekday(), w) if w < 3 else _text(_DAYS[v.weekday()], w),
    "a": lambda v, w: "AM" if v.hour < 12 else "PM",
    "H": lambda v, w: _number(v.hour, w),
    "k": lambda v, w: _number(v.hour or 24, w),
    "K": lambda v, w: _number(v.hour % 12, w),
    "h": _hour12,
    "m": lambda v, w: _number(v.minute, w),
    "s": lambda v, w: _number(v.second, w),
    "S": _fraction,
    "n": lambda v, w: _number(v.microsecond * 1000, w),
    "A": lambda v, w: _number(
        ((v.hour * 60 + v.minute) * 60 + v.second) * 1000 + v.microsecond // 1000, w
    ),
    "X": _offset_x,
    "x": lambda v, w: _offset_x(v, w, ""),
    "Z": _offset_z,
    "O": lambda v, w: _offset_z(v, 4),
    "z": _zone_name,
    "V": _zone_id,
}


def _iso_local_time(value: dt.datetime) -> str:
    text = value.strftime("%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text


def _iso_offset(value: dt.datetime) -> str:
    return _offset_x(value, 3)


def _iso_zoned(value: dt.datetime) -> str:
    text = value.strftime("%Y-%m-%dT") + _iso_local_time(value) + _iso_offset(value)
    key = getattr(value.tzinfo, "key", None)
    return f"{text}[{key}]" if key else text


_PRESETS: dict[str, Callable[[dt.datetime], str]] = {
    "iso": lambda v: format_date(v, "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"),
    "iso_sec": lambda v: format_date(v, "yyyy-MM-dd'T'HH:mm:ssXXX"),
    "sql": lambda v: format_date(v, "yyyy-MM-dd HH:mm:ss.SSSSSS"),
    "sql_seq": lambda v: format_date(v, "yyyy-MM-dd HH:mm:ss"),
    "iso_date_time": _iso_zoned,
    "iso_zoned_date_time": _iso_zoned,
    "iso_offset_date_time": lambda v: v.strftime("%Y-%m-%dT") + _iso_local_time(v) + _iso_offset(v),
    "iso_date": lambda v: v.strftime("%Y-%m-%d") + _iso_offset(v),
    "iso_time": lambda v: _iso_local_time(v) + _iso_offset(v),
    "iso_offset_time": lambda v: _iso_local_time(v) + _iso_offset(v),
    "iso_local_date": lambda v: v.strftime("%Y-%m-%d"),
    "iso_local_time": _iso_local_time,
    "iso_local_date_time": lambda v: v.strftime("%Y-%m-%dT") + _iso_local_time(v),
    "iso_instant": lambda v: v.astimezone(UTC).strftime("%Y-%m-%dT") + _iso_local_time(v) + "Z",
    "iso_ordinal_date": lambda v: v.strftime("%Y-%j") + _iso_offset(v),
    "iso_week_date": lambda v: "{}-W{:02d}-{}".format(*v.isocalendar()) + _iso_offset(v),
    "rfc_1123_date_time": lambda v: (
        f"{_DAYS[v.weekday()][:3]}, {v.day} "
        f"{_MONTHS[v.month - 1][:3]} {v.year} {v.strftime('%H:%M:%S')} "
        + ("GMT" if v.utcoffset() == dt.timedelta(0) else _offset_x(v, 2, ""))
    ),
}

# Parsing: each pattern letter run becomes a named regex group.
_PARSE_FIELDS: dict[str, str] = {
    "y": r"\d{4}|\d{2}",
    "u": r"\d{4}|\d{2}",
    "M": r"\d{1,2}|[A-Za-z]+",
    "d": r"\d{1,2}",
    "H": r"\d{1,2}",
    "h": r"\d{1,2}",
    "m": r"\d{1,2}",
    "s": r"\d{1,2}",
    "S": r"\d{1,9}",
    "a": r"AM|PM|am|pm",
    "E": r"[A-Za-z]+",
    "X": r"Z|[+-]\d{2}(?::?\d{2})?",
    "x": r"[+-]\d{2}(?::?\d{2})?",
    "Z": r"[+-]\d{4}|Z",
}


@lru_cache(maxsize=256)
def _parser(pattern: str) -> tuple[str, tuple[str, ...]]:
    regex: list[str] = []
    fields: list[str] = []
    for token in _tokens(pattern):
        letter = token[0]
        if letter == "'":
            regex.append(re.escape("'" if token == "''" else token[1:-1].replace("''", "'")))
        elif letter.isalpha():
            group = _PARSE_FIELDS.get(letter)
            if group is None:
                raise ExpressionError(f"cannot parse dates with the pattern letter '{letter}'")
            if letter in "dHhms" and len(token) == 2:
                group = r"\d{2}"
            regex.append(f"({group})")
            fields.append(letter)
        else:
            regex.append(re.escape(token))
    return "".join(regex), tuple(fields)


def _build(values: dict[str, str]) -> dt.datetime:
    year = int(values.get("y") or values.get("u") or 1970)
    year = year + 2000 if year < 100 else year
    month_text = values.get("M", "1")
    month = int(month_text) if month_text.isdigit() else _month_number(month_text)
    hour = int(values.get("H") or values.get("h") or 0)
    if values.get("a", "").upper() == "PM" and hour < 12:
        hour += 12
    micros = int((values.get("S", "0") + "000000")[:6])
    tz = None
    if values.get("X") or values.get("x") or values.get("Z"):
        tz = zone(values.get("X") or values.get("x") or values.get("Z"))
    return dt.datetime(
        year, month, int(values.get("d", 1)), hour, int(values.get("m", 0)),
        int(values.get("s", 0)), micros, tz,
    )  # fmt: skip


def _month_number(text: str) -> int:
    for index, name in enumerate(_MONTHS):
        if name.lower().startswith(text.lower()[:3]):
            return index + 1
    raise ExpressionError(f"unknown month name '{text}'")
