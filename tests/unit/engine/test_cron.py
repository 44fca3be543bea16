"""Cron slots: five and six fields, macros, time zones across daylight-saving changes, and the
errors that name the trigger."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from controlplane.engine.cron import Cron, CronError, iso

WHERE = "trigger 'nightly' of flow company.team/etl"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def listed(cron: Cron, start: str, end: str) -> list[str]:
    return [iso(cron.local(slot)) for slot in cron.slots(at(start), at(end))]


def test_five_fields_give_the_minutes_of_the_expression() -> None:
    cron = Cron.parse("*/15 9-10 * * *")
    assert listed(cron, "2024-01-01T09:00:00Z", "2024-01-01T10:31:00Z") == [
        "2024-01-01T09:00:00Z", "2024-01-01T09:15:00Z", "2024-01-01T09:30:00Z",
        "2024-01-01T09:45:00Z", "2024-01-01T10:00:00Z", "2024-01-01T10:15:00Z",
        "2024-01-01T10:30:00Z",
    ]  # fmt: skip


def test_six_fields_put_the_seconds_first() -> None:
    cron = Cron.parse("*/20 0 12 * * *", with_seconds=True)
    assert listed(cron, "2024-01-01T12:00:00Z", "2024-01-01T12:01:00Z") == [
        "2024-01-01T12:00:00Z", "2024-01-01T12:00:20Z", "2024-01-01T12:00:40Z",
    ]  # fmt: skip


def test_a_five_field_cron_with_seconds_is_refused_naming_the_trigger() -> None:
    with pytest.raises(CronError) as caught:
        Cron.parse("0 12 * * *", with_seconds=True, where=WHERE)
    assert str(caught.value) == (
        "trigger 'nightly' of flow company.team/etl: invalid cron '0 12 * * *': expected 6 "
        "fields (seconds minute hour day-of-month month day-of-week) or a macro like @daily, got 5"
    )


@pytest.mark.parametrize(
    ("macro", "first", "second"),
    [
        ("@yearly", "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        ("@annually", "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        ("@monthly", "2024-06-01T00:00:00Z", "2024-07-01T00:00:00Z"),
        ("@weekly", "2024-05-19T00:00:00Z", "2024-05-26T00:00:00Z"),
        ("@daily", "2024-05-16T00:00:00Z", "2024-05-17T00:00:00Z"),
        ("@midnight", "2024-05-16T00:00:00Z", "2024-05-17T00:00:00Z"),
        ("@hourly", "2024-05-15T11:00:00Z", "2024-05-15T12:00:00Z"),
    ],
)
def test_macros(macro: str, first: str, second: str) -> None:
    cron = Cron.parse(macro)
    found = cron.next_after(at("2024-05-15T10:30:00Z"))
    assert found is not None and iso(found) == first
    following = cron.next_after(found)
    assert following is not None and iso(following) == second


def test_a_time_zone_moves_the_slots_and_follows_daylight_saving_time() -> None:
    cron = Cron.parse("0 9 * * *", "Europe/Paris")
    # Paris leaves CET (+01:00) for CEST (+02:00) on 2024-03-31.
    slots = list(cron.slots(at("2024-03-30T00:00:00Z"), at("2024-04-01T00:00:00Z")))
    assert [iso(s) for s in slots] == ["2024-03-30T08:00:00Z", "2024-03-31T07:00:00Z"]
    assert [iso(cron.local(s)) for s in slots] == [
        "2024-03-30T09:00:00+01:00", "2024-03-31T09:00:00+02:00",
    ]  # fmt: skip


def test_local_times_that_repeat_or_vanish_with_daylight_saving_are_handled_as_croniter_does() -> (
    None
):
    cron = Cron.parse("*/30 * * * *", "Europe/Paris")
    # 2024-10-27: 03:00 CEST falls back to 02:00 CET, so 02:00 and 02:30 happen twice.
    assert listed(cron, "2024-10-26T23:00:00Z", "2024-10-27T02:01:00Z") == [
        "2024-10-27T01:00:00+02:00", "2024-10-27T01:30:00+02:00", "2024-10-27T02:00:00+02:00",
        "2024-10-27T02:30:00+02:00", "2024-10-27T02:00:00+01:00", "2024-10-27T02:30:00+01:00",
        "2024-10-27T03:00:00+01:00",
    ]  # fmt: skip
    # 2024-03-31: 02:00 CET jumps to 03:00 CEST, so 02:00 and 02:30 do not exist.
    assert listed(cron, "2024-03-31T00:00:00Z", "2024-03-31T01:31:00Z") == [
        "2024-03-31T01:00:00+01:00", "2024-03-31T01:30:00+01:00", "2024-03-31T03:00:00+02:00",
        "2024-03-31T03:30:00+02:00",
    ]  # fmt: skip


def test_next_and_previous_are_strict_and_the_inclusive_forms_keep_a_slot() -> None:
    cron = Cron.parse("0 * * * *")
    slot = at("2024-01-01T10:00:00Z")
    assert cron.next_after(slot) == at("2024-01-01T11:00:00Z")
    assert cron.previous_before(slot) == at("2024-01-01T09:00:00Z")
    assert cron.first_at_or_after(slot) == slot
    assert cron.latest_at_or_before(slot) == slot
    between = at("2024-01-01T10:20:00Z")
    assert cron.first_at_or_after(between) == at("2024-01-01T11:00:00Z")
    assert cron.latest_at_or_before(between) == slot


def test_fractions_of_a_second_are_not_lost() -> None:
    cron = Cron.parse("* * * * * *", with_seconds=True)
    moment = at("2024-01-01T10:00:00.500000+00:00")
    assert cron.next_after(moment) == at("2024-01-01T10:00:01Z")
    assert cron.previous_before(moment) == at("2024-01-01T10:00:00Z")
    assert cron.latest_at_or_before(moment) == at("2024-01-01T10:00:00Z")


def test_slots_include_the_start_exclude_the_end_and_stop_at_the_limit() -> None:
    cron = Cron.parse("0 * * * *")
    start, end = at("2024-01-01T10:00:00Z"), at("2024-01-01T13:00:00Z")
    assert [iso(s) for s in cron.slots(start, end)] == [
        "2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z", "2024-01-01T12:00:00Z",
    ]  # fmt: skip
    assert len(list(cron.slots(start, end, limit=2))) == 2


def test_a_cron_that_never_matches_has_no_next_slot() -> None:
    assert Cron.parse("0 0 30 2 *").next_after(datetime(2024, 1, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("cron", "timezone", "message"),
    [
        ("61 * * * *", None, "invalid cron '61 * * * *': a field is out of range or malformed"),
        (
            "* * *",
            None,
            "invalid cron '* * *': expected 5 fields (minute hour day-of-month month "
            "day-of-week) or a macro like @daily, got 3",
        ),
        (
            "* * * * *",
            "Mars/Olympus",
            "unknown time zone 'Mars/Olympus'; expected an IANA name like Europe/Paris or UTC",
        ),
    ],
)
def test_invalid_crons_and_zones_name_the_trigger(
    cron: str, timezone: str | None, message: str
) -> None:
    with pytest.raises(CronError) as caught:
        Cron.parse(cron, timezone, where=WHERE)
    assert str(caught.value) == f"{WHERE}: {message}"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Cron.parse("* * * * *").next_after(datetime(2024, 1, 1))
