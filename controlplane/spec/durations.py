"""ISO-8601 durations as Kestra writes them, read and printed without the language's models, so
that the client can use them and stay quick to import."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(
    r"^(?P<sign>[-+]?)P(?:(?P<days>[-+]?\d+)D)?"
    r"(?:T(?:(?P<hours>[-+]?\d+)H)?(?:(?P<minutes>[-+]?\d+)M)?"
    r"(?:(?P<seconds>[-+]?\d+)(?:[.,](?P<fraction>\d{0,9}))?S)?)?$",
    re.IGNORECASE,
)

DURATION_HINT = "an ISO-8601 duration such as PT30S, PT5M, PT1H30M or P1D"


def parse_duration(text: str) -> timedelta:
    """Parse an ISO-8601 duration as Java's ``Duration.parse`` does (days down to nanoseconds)."""
    match = _DURATION.match(text.strip())
    if match is None or text.strip().upper().rstrip("T") in ("P", "-P", "+P"):
        raise ValueError(text)
    parts = match.groupdict()
    if not any(parts[k] for k in ("days", "hours", "minutes", "seconds")):
        raise ValueError(text)
    seconds = int(parts["seconds"] or 0)
    fraction = parts["fraction"] or ""
    micros = int((fraction + "000000")[:6]) if fraction else 0
    value = timedelta(
        days=int(parts["days"] or 0),
        hours=int(parts["hours"] or 0),
        minutes=int(parts["minutes"] or 0),
        seconds=seconds,
        microseconds=-micros if seconds < 0 or (parts["seconds"] or "").startswith("-") else micros,
    )
    return -value if parts["sign"] == "-" else value


def format_duration(value: timedelta) -> str:
    """``PT1H30M``, ``PT0.5S``, ``P2DT1H``: the ISO-8601 text Kestra prints for a Duration."""
    total = value.total_seconds()
    sign, total = ("-", -total) if total < 0 else ("", total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}P" + (f"{int(days)}D" if days else "")
    clock = (f"{int(hours)}H" if hours else "") + (f"{int(minutes)}M" if minutes else "")
    if seconds or not (days or clock):
        clock += f"{seconds:.6f}".rstrip("0").rstrip(".") + "S"
    return text + ("T" + clock if clock else "")
