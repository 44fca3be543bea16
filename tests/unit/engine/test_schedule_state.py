"""How a scheduler's result is merged into the trigger document stored meanwhile by another
scheduler or the API: progress only moves forward and nobody's record is lost."""

from __future__ import annotations

from datetime import UTC, datetime

from controlplane.engine.cron import Cron
from controlplane.engine.schedule_state import BackfillState, ScheduleState, new_backfill

T0 = datetime(2024, 5, 15, 10, tzinfo=UTC)


def at(minute: int) -> datetime:
    return T0.replace(minute=minute)


def backfill(identifier: str, cursor: int | None = None) -> BackfillState:
    return BackfillState(
        id=identifier, start=at(0), end=at(30), requested=at(0),
        cursor=at(cursor) if cursor is not None else None,
    )  # fmt: skip


def test_a_document_round_trips_through_json_form() -> None:
    state = ScheduleState(
        since=at(0), signature="* * * * *|UTC|False", next=at(5), last=at(4),
        last_execution_id="e4", pending=["e4"], stopped_by={"executionId": "e3", "state": "FAILED"},
        error="boom", backfill=backfill("b", 10),
    )  # fmt: skip
    doc = state.to_doc()
    assert doc["next"] == "2024-05-15T10:05:00Z"
    assert doc["backfill"]["done"] is False
    assert ScheduleState.from_doc(doc) == state


def test_nothing_stored_means_this_result_stands() -> None:
    mine = ScheduleState(since=at(0), next=at(3))
    assert mine.merged(ScheduleState(), None, set(), set()) is mine


def test_the_slots_only_move_forward_and_the_latest_fired_slot_is_kept() -> None:
    mine = ScheduleState(since=at(1), next=at(3), last=at(2), last_execution_id="mine")
    fresh = ScheduleState(since=at(0), next=at(5), last=at(4), last_execution_id="theirs")
    merged = mine.merged(fresh, None, set(), set())
    assert (merged.since, merged.next, merged.last, merged.last_execution_id) == (
        at(0), at(5), at(4), "theirs",
    )  # fmt: skip


def test_pending_keeps_what_others_added_and_drops_what_this_pass_saw_end() -> None:
    mine = ScheduleState(since=at(0), pending=["b", "new"])
    fresh = ScheduleState(since=at(0), pending=["a", "b", "other"])
    merged = mine.merged(fresh, None, added={"new"}, finished={"a"})
    assert merged.pending == ["b", "other", "new"]


def test_a_stop_recorded_by_anyone_stays() -> None:
    stopped = {"executionId": "e", "state": "FAILED"}
    fresh = ScheduleState(since=at(0), stopped_by=stopped)
    assert ScheduleState(since=at(0)).merged(fresh, None, set(), set()).stopped_by == stopped


def test_a_backfill_keeps_the_furthest_progress_of_the_same_request() -> None:
    mine = ScheduleState(since=at(0), backfill=backfill("b", 10))
    fresh = ScheduleState(since=at(0), backfill=backfill("b", 20))
    merged = mine.merged(fresh, "b", set(), set())
    assert merged.backfill is not None and merged.backfill.cursor == at(20)


def test_a_backfill_replaced_or_cancelled_meanwhile_is_not_brought_back() -> None:
    mine = ScheduleState(since=at(0), backfill=backfill("old", 10))
    replaced = ScheduleState(since=at(0), backfill=backfill("new"))
    merged = mine.merged(replaced, "old", set(), set())
    assert merged.backfill is not None and merged.backfill.id == "new"
    cancelled = ScheduleState(since=at(0))
    assert mine.merged(cancelled, "old", set(), set()).backfill is None


def test_a_backfill_this_pass_created_is_kept() -> None:
    mine = ScheduleState(since=at(0), backfill=backfill("created"))
    fresh = ScheduleState(since=at(0), next=at(1))
    merged = mine.merged(fresh, None, set(), set())
    assert merged.backfill is not None and merged.backfill.id == "created"


def test_a_new_backfill_counts_its_slots_up_to_a_limit() -> None:
    cron = Cron.parse("*/10 * * * *")
    counted = new_backfill(cron, at(0), at(30), at(0))
    assert (counted.total, counted.done, counted.position) == (3, False, at(0))
    every_second = Cron.parse("* * * * * *", with_seconds=True)
    assert new_backfill(every_second, T0, T0.replace(hour=14), T0).total is None
