"""Precondition windows and filters as Kestra's ``timeWindow`` and ``where`` describe them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from controlplane.engine.preconditions import groups_of, remember, window_of
from controlplane.expr import Renderer
from controlplane.spec.plugins.triggers import FlowTrigger, TimeWindow


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2024, 5, day, hour, minute, tzinfo=UTC)


def bounds(window: dict[str, Any], moment: datetime) -> tuple[datetime, datetime] | None:
    return window_of(TimeWindow.model_validate(window)).bounds(moment)


def test_a_duration_window_starts_at_midnight_by_default() -> None:
    assert bounds({}, at(15, 30)) == (at(0), at(0, day=2))
    assert bounds({"window": "PT10M"}, at(15, 34)) == (at(15, 30), at(15, 40))


def test_window_advance_shifts_the_windows() -> None:
    six_hours = {"window": "PT6H", "windowAdvance": "PT3H"}
    assert bounds(six_hours, at(2, 59)) == (datetime(2024, 4, 30, 21, tzinfo=UTC), at(3))
    assert bounds(six_hours, at(3)) == (at(3), at(9))
    assert bounds({"windowAdvance": "PT6H"}, at(5)) == (datetime(2024, 4, 30, 6, tzinfo=UTC), at(6))
    assert bounds({"windowAdvance": "PT6H"}, at(6)) == (at(6), at(6, day=2))


def test_daily_windows_are_open_only_between_their_times() -> None:
    deadline = {"type": "DAILY_TIME_DEADLINE", "deadline": "09:00:00"}
    assert bounds(deadline, at(8, 59)) == (at(0), at(9))
    assert bounds(deadline, at(9)) is None
    daily = {"type": "DAILY_TIME_WINDOW", "startTime": "06:00:00", "endTime": "09:00:00"}
    assert bounds(daily, at(5, 59)) is None
    assert bounds(daily, at(6)) == (at(6), at(9))
    assert bounds(daily, at(9, 1)) is None


def trigger(preconditions: dict[str, Any]) -> FlowTrigger:
    return FlowTrigger.model_validate(
        {"id": "t", "type": "io.kestra.plugin.core.trigger.Flow", "preconditions": preconditions}
    )


def facts(flow_id: str, state: str = "SUCCESS", namespace: str = "company.team") -> dict[str, Any]:
    return {
        "trigger": {"executionId": f"{flow_id}-1", "namespace": namespace, "flowId": flow_id,
                    "state": state, "labels": {"env": "prod"}, "outputs": {}},
        "labels": {"env": "prod"},
    }  # fmt: skip


def test_filters_compare_as_kestra_does() -> None:
    (group,) = groups_of(trigger({"id": "p", "where": [
        {"id": "regex", "filters": [{"field": "FLOW_ID", "type": "REGEX", "value": "load_[0-9]+"}]},
        {"id": "not_in", "filters": [{"field": "STATE", "type": "NOT_IN",
                                      "values": ["FAILED", "KILLED"]}]},
        {"id": "either", "operand": "OR", "filters": [
            {"field": "NAMESPACE", "type": "STARTS_WITH", "value": "other"},
            {"field": "EXPRESSION", "type": "IS_TRUE", "value": "{{ labels.env == 'prod' }}"}]},
    ]}))  # fmt: skip
    renderer = Renderer()
    hits = {name: check(facts("load_12"), renderer) for name, check in group.checks.items()}
    assert hits == {"where:regex": True, "where:not_in": True, "where:either": True}
    partial = {name: check(facts("load_12x", "FAILED"), renderer)
               for name, check in group.checks.items()}  # fmt: skip
    assert partial == {"where:regex": False, "where:not_in": False, "where:either": True}


def test_a_group_completes_within_its_window_and_forgets_in_the_next() -> None:
    (group,) = groups_of(trigger({"id": "p", "timeWindow": {"window": "PT1H"}, "flows": [
        {"namespace": "company.team", "flowId": "a"},
        {"namespace": "company.team", "flowId": "b", "states": ["SUCCESS"],
         "labels": {"env": "prod"}},
    ]}))  # fmt: skip
    renderer = Renderer()
    first = remember(group, None, facts("a"), renderer, at(10, 5), "t")
    assert (first.matched, first.complete) == (True, False)
    failed_b = remember(group, first.memory, facts("b", "FAILED"), renderer, at(10, 6), "t")
    assert (failed_b.matched, failed_b.complete) == (False, False)
    second = remember(group, first.memory, facts("b"), renderer, at(10, 59), "t")
    assert second.complete
    late = remember(group, first.memory, facts("b"), renderer, at(11, 0), "t")
    assert (late.matched, late.complete) == (True, False)
    assert set(late.memory["met"]) == {"flows[1]"}
    assert late.memory["start"] == at(11).isoformat()
