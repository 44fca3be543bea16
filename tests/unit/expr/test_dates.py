"""Kestra's date filters with Java DateTimeFormatter patterns, and now()."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from controlplane.expr import Renderer

START = "2024-03-05T14:07:09.123456Z"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("yyyy-MM-dd", "2024-03-05"),
        ("yy/M/d", "24/3/5"),
        ("MMM MMMM", "Mar March"),
        ("EEE EEEE", "Tue Tuesday"),
        ("HH:mm:ss", "14:07:09"),
        ("hh:mm a", "02:07 PM"),
        ("ss.SSS", "09.123"),
        ("SSSSSS", "123456"),
        ("yyyyMMdd-HHmmss", "20240305-140709"),
        ("yyyy-MM-dd'T'HH:mm:ssXXX", "2024-03-05T14:07:09Z"),
        ("Z", "+0000"),
        ("X", "Z"),
        ("z", "UTC"),
        ("'week' w, 'day' D", "week 10, day 65"),
        ("h 'o''clock'", "2 o'clock"),
        ("iso", "2024-03-05T14:07:09.123456Z"),
        ("iso_sec", "2024-03-05T14:07:09Z"),
        ("sql", "2024-03-05 14:07:09.123456"),
        ("iso_date_time", "2024-03-05T14:07:09.123456Z"),
        ("iso_date", "2024-03-05Z"),
        ("iso_local_date", "2024-03-05"),
        ("iso_instant", "2024-03-05T14:07:09.123456Z"),
    ],
)
def test_date_patterns(renderer: Renderer, pattern: str, expected: str) -> None:
    rendered = renderer.render("{{ d | date(fmt) }}", {"d": START, "fmt": pattern})
    assert rendered == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "{{ d | date('yyyy-MM-dd HH:mm XXX', timeZone='Europe/Paris') }}",
            "2024-03-05 15:07 +01:00",
        ),
        ("{{ '2024-03-05T23:30:00+02:00' | date('yyyy-MM-dd HH:mm') }}", "2024-03-05 21:30"),
        (
            "{{ '05/03/2024 10:11' | date('yyyy-MM-dd HH:mm', "
            "existingFormat='dd/MM/yyyy HH:mm') }}",
            "2024-03-05 10:11",
        ),
        ("{{ 1700000000 | date('yyyy-MM-dd HH:mm:ss') }}", "2023-11-14 22:13:20"),
        ("{{ day | date('yyyy-MM-dd HH:mm') }}", "2024-02-29 12:00"),
        ("{{ d | date }}", "2024-03-05T14:07:09.123456Z"),
        ("{{ d | dateAdd(-7, 'DAYS') | date('yyyy-MM-dd') }}", "2024-02-27"),
        ("{{ d | dateAdd(1, 'MONTHS', format='yyyy-MM-dd') }}", "2024-04-05"),
        ("{{ '2024-01-31T00:00:00Z' | dateAdd(1, 'MONTHS') | date('yyyy-MM-dd') }}", "2024-02-29"),
        ("{{ d | dateAdd(90, 'MINUTES') | date('HH:mm') }}", "15:37"),
        ("{{ d | dateAdd(2, 'YEARS') | date('yyyy') }}", "2026"),
        ("{{ d | dateAdd(500, 'MILLIS') | date('ss.SSS') }}", "09.623"),
        ("{{ '2024-01-01T00:00:00Z' | timestamp }}", "1704067200"),
        ("{{ '2024-01-01T00:00:00.5Z' | timestampMilli }}", "1704067200500"),
        ("{{ '2024-01-01T00:00:00Z' | timestampMicro }}", "1704067200000000"),
        ("{{ '2024-01-01T00:00:00Z' | timestampNano }}", "1704067200000000000"),
    ],
)
def test_date_conversions(renderer: Renderer, template: str, expected: str) -> None:
    assert renderer.render(template, {"d": START, "day": dt.date(2024, 2, 29)}) == expected


def test_now_is_aware_and_prints_iso_with_offset(renderer: Renderer) -> None:
    value = renderer.render_typed("{{ now() }}", {})
    assert isinstance(value, dt.datetime) and value.tzinfo is not None
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?Z", renderer.render("{{ now() }}", {})
    )
    paris = renderer.render("{{ now(timeZone='Europe/Paris') }}", {})
    assert paris.endswith("[Europe/Paris]") and re.search(r"\+0[12]:00\[", paris)
    year = renderer.render("{{ now() | date('yyyy') }}", {})
    assert year == str(dt.datetime.now(dt.UTC).year)
