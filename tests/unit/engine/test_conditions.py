"""Trigger conditions decided as Kestra decides them, from the facts of an ended execution or a
rendered date; a condition that cannot be decided does not hold and never raises."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from controlplane.engine.conditions import (
    attempt_states,
    execution_facts,
    holds,
    parse_local_date,
)
from controlplane.engine.model import Attempt, Execution, State, TaskRun, now
from controlplane.expr import Renderer
from controlplane.spec.tasks import ConditionRef

C = "io.kestra.plugin.core.condition."
_CONDITIONS: TypeAdapter[list[BaseModel]] = TypeAdapter(list[ConditionRef])


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def conditions(*items: dict[str, Any]) -> list[BaseModel]:
    return _CONDITIONS.validate_python(list(items))


def ended(
    state: State = State.SUCCESS,
    namespace: str = "company.team",
    flow_id: str = "extract",
    labels: dict[str, str] | None = None,
    outputs: dict[str, Any] | None = None,
    task_runs: list[TaskRun] | None = None,
) -> dict[str, Any]:
    execution = Execution(
        id="up1",
        namespace=namespace,
        flow_id=flow_id,
        flow_revision=3,
        state=state,
        labels=labels or {},
        outputs=outputs,
        task_runs=task_runs or [],
    )
    return {
        "trigger": execution_facts(execution),
        "execution": {"id": execution.id, "taskRuns": attempt_states(execution)},
    }


def test_execution_facts_carry_what_a_triggered_flow_reads() -> None:
    facts = ended(State.WARNING, labels={"team": "a"}, outputs={"date": "2024-05-01"})["trigger"]
    assert facts == {
        "executionId": "up1",
        "namespace": "company.team",
        "flowId": "extract",
        "flowRevision": 3,
        "state": "WARNING",
        "labels": {"team": "a"},
        "outputs": {"date": "2024-05-01"},
    }


@pytest.mark.parametrize(
    ("state", "expected"),
    [(State.SUCCESS, True), (State.WARNING, True), (State.FAILED, False), (State.KILLED, False)],
)
def test_execution_status_in_and_not_in(renderer: Renderer, state: State, expected: bool) -> None:
    status = conditions({"type": C + "ExecutionStatus", "in": ["SUCCESS", "WARNING", "KILLED"],
                         "notIn": ["KILLED"]})  # fmt: skip
    assert holds(status, ended(state), renderer) is expected


def test_old_condition_names_decide_the_same(renderer: Renderer) -> None:
    legacy = conditions(
        {
            "type": "io.kestra.core.models.conditions.types.ExecutionStatusCondition",
            "in": ["FAILED"],
        },
        {"type": C + "ExecutionFlowCondition", "namespace": "company.team", "flowId": "extract"},
    )
    assert holds(legacy, ended(State.FAILED), renderer)
    assert not holds(legacy, ended(State.SUCCESS), renderer)
    assert not holds(legacy, ended(State.FAILED, flow_id="load"), renderer)


@pytest.mark.parametrize(
    ("spec", "namespace", "expected"),
    [
        ({"namespace": "company"}, "company", True),
        ({"namespace": "company"}, "company.team", False),
        ({"namespace": "company", "prefix": True}, "company.team", True),
        ({"namespace": "company", "comparison": "PREFIX"}, "other.company", False),
        ({"namespace": "team", "comparison": "SUFFIX"}, "company.team", True),
        ({"namespace": "company.team", "comparison": "EQUALS", "prefix": True}, "company.team.x",
         False),
    ],
)  # fmt: skip
def test_execution_namespace_comparisons(
    renderer: Renderer, spec: dict[str, Any], namespace: str, expected: bool
) -> None:
    condition = conditions({"type": C + "ExecutionNamespace", **spec})
    assert holds(condition, ended(namespace=namespace), renderer) is expected


def test_execution_labels_must_all_match(renderer: Renderer) -> None:
    condition = conditions(
        {"type": C + "ExecutionLabels", "labels": [{"key": "env", "value": "prod"},
                                                   {"key": "team", "value": "data"}]}
    )  # fmt: skip
    assert holds(condition, ended(labels={"env": "prod", "team": "data", "x": "y"}), renderer)
    assert not holds(condition, ended(labels={"env": "prod"}), renderer)
    assert not holds(condition, ended(labels={"env": "dev", "team": "data"}), renderer)


def test_execution_outputs_renders_over_the_flow_outputs(renderer: Renderer) -> None:
    condition = conditions(
        {"type": C + "ExecutionOutputs", "expression": "{{ trigger.outputs.rows > 10 }}"}
    )
    assert holds(condition, ended(outputs={"rows": 11}), renderer)
    assert not holds(condition, ended(outputs={"rows": 3}), renderer)
    assert not holds(condition, ended(outputs=None), renderer)


def test_expression_holds_unless_blank_or_false(renderer: Renderer) -> None:
    def check(expression: str, variables: dict[str, Any]) -> bool:
        return holds(conditions({"type": C + "Expression", "expression": expression}), variables,
                     renderer)  # fmt: skip

    assert check(
        "{{ trigger.body.action == 'opened' }}", {"trigger": {"body": {"action": "opened"}}}
    )
    assert not check(
        "{{ trigger.body.action == 'opened' }}", {"trigger": {"body": {"action": "x"}}}
    )
    assert not check("{{ trigger.body.missing ?? '' }}", {"trigger": {"body": {}}})
    assert check("{{ 0 }}", {})  # Kestra: only blank and "false" fail


def test_has_retry_attempt_looks_at_task_runs_with_retries(renderer: Renderer) -> None:
    start = now()
    retried = TaskRun(id="r1", task_id="t", state=State.SUCCESS, attempts=[
        Attempt(State.FAILED, start), Attempt(State.SUCCESS, start)])  # fmt: skip
    once = TaskRun(id="r2", task_id="u", state=State.FAILED, attempts=[
        Attempt(State.FAILED, start)])  # fmt: skip
    condition = conditions({"type": C + "HasRetryAttempt", "in": ["FAILED"]})
    assert holds(condition, ended(task_runs=[retried, once]), renderer)
    assert not holds(condition, ended(task_runs=[once]), renderer)


def test_not_and_or_combine_conditions(renderer: Renderer) -> None:
    failed = {"type": C + "ExecutionStatus", "in": ["FAILED"]}
    named = {"type": C + "ExecutionFlow", "namespace": "company.team", "flowId": "extract"}
    either = conditions({"type": C + "Or", "conditions": [failed, named]})
    neither = conditions({"type": C + "Not", "conditions": [failed, named]})
    assert holds(either, ended(State.FAILED, flow_id="other"), renderer)
    assert holds(either, ended(State.SUCCESS), renderer)
    assert not holds(either, ended(State.SUCCESS, flow_id="other"), renderer)
    assert holds(neither, ended(State.SUCCESS, flow_id="other"), renderer)
    assert not holds(neither, ended(State.FAILED, flow_id="other"), renderer)


def test_an_empty_list_holds(renderer: Renderer) -> None:
    assert holds([], {}, renderer)


# -- dates ----------------------------------------------------------------------------------------


def at(moment: str) -> dict[str, Any]:
    return {"trigger": {"date": moment}}


def test_date_time_between_is_strict_on_both_bounds(renderer: Renderer) -> None:
    window = conditions({"type": C + "DateTimeBetween", "after": "2024-05-01T00:00:00Z",
                         "before": "2024-05-02T00:00:00+02:00"})  # fmt: skip
    assert holds(window, at("2024-05-01T12:00:00Z"), renderer)
    assert holds(window, at("2024-05-01T21:59:59Z"), renderer)
    assert not holds(window, at("2024-05-01T22:00:00Z"), renderer)
    assert not holds(window, at("2024-05-01T00:00:00Z"), renderer)
    only_after = conditions({"type": C + "DateTimeBetween", "after": "2024-05-01T00:00:00Z",
                             "date": "{{ trigger.date }}"})  # fmt: skip
    assert holds(only_after, at("2030-01-01T00:00:00+01:00"), renderer)


def test_time_between_compares_times_of_day_with_offsets(renderer: Renderer) -> None:
    office = conditions({"type": C + "TimeBetween", "after": "08:00:00+02:00",
                         "before": "18:00:00+02:00"})  # fmt: skip
    assert holds(office, at("2024-05-01T07:30:00Z"), renderer)  # 09:30 at +02:00
    assert not holds(office, at("2024-05-01T05:30:00Z"), renderer)
    assert not holds(office, at("2024-05-01T17:00:00Z"), renderer)  # 19:00 at +02:00


@pytest.mark.parametrize(
    ("day", "expected"),
    [("2024-05-06", True), ("2024-05-06T23:30:00-05:00", True), ("2024-05-07", False)],
)
def test_day_week_uses_the_local_date(renderer: Renderer, day: str, expected: bool) -> None:
    monday = conditions({"type": C + "DayWeek", "dayOfWeek": "MONDAY"})
    assert holds(monday, at(day), renderer) is expected


@pytest.mark.parametrize(
    ("spec", "day", "expected"),
    [
        ({"dayOfWeek": "MONDAY", "dayInMonth": "FIRST"}, "2024-07-01", True),
        ({"dayOfWeek": "MONDAY", "dayInMonth": "FIRST"}, "2024-07-08", False),
        ({"dayOfWeek": "FRIDAY", "dayInMonth": "SECOND"}, "2024-05-10", True),
        ({"dayOfWeek": "FRIDAY", "dayInMonth": "THIRD"}, "2024-05-17", True),
        ({"dayOfWeek": "FRIDAY", "dayInMonth": "FOURTH"}, "2024-05-24", True),
        ({"dayOfWeek": "FRIDAY", "dayInMonth": "LAST"}, "2024-05-31", True),
        ({"dayOfWeek": "FRIDAY", "dayInMonth": "LAST"}, "2024-05-24", False),
        ({"dayOfWeek": "TUESDAY", "dayInMonth": "LAST"}, "2024-12-31", True),
    ],
)
def test_day_week_in_month(
    renderer: Renderer, spec: dict[str, Any], day: str, expected: bool
) -> None:
    condition = conditions({"type": C + "DayWeekInMonth", **spec})
    assert holds(condition, at(day), renderer) is expected


def test_weekend(renderer: Renderer) -> None:
    weekend = conditions({"type": C + "Weekend"})
    assert holds(weekend, at("2024-05-04T10:00:00Z"), renderer)
    assert holds(weekend, at("2024-05-05"), renderer)
    assert not holds(weekend, at("2024-05-06"), renderer)


def test_public_holiday_of_a_country_and_subdivision(renderer: Renderer) -> None:
    # The condition of kestra-io/blueprints schedule-condition-publicholiday.yaml.
    france = conditions({"type": C + "PublicHoliday", "country": "FR"})
    assert holds(france, at("2026-07-14T11:00:00+02:00"), renderer)
    assert not holds(france, at("2026-07-15T11:00:00+02:00"), renderer)
    bavaria = conditions({"type": C + "PublicHoliday", "country": "DE", "subDivision": "BY"})
    germany = conditions({"type": C + "PublicHoliday", "country": "DE"})
    assert holds(bavaria, at("2026-01-06"), renderer)  # Epiphany, in Bavaria only
    assert not holds(germany, at("2026-01-06"), renderer)


def test_public_holiday_of_an_unknown_country_does_not_hold(
    renderer: Renderer, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = conditions({"type": C + "PublicHoliday", "country": "XX"})
    with caplog.at_level(logging.WARNING):
        assert not holds(nowhere, at("2026-01-01"), renderer)
    assert "no public holidays are known for country 'XX'" in caplog.text


def test_date_conditions_render_their_date(renderer: Renderer) -> None:
    weekend = conditions({"type": C + "Weekend", "date": "{{ inputs.day }}"})
    assert holds(weekend, {"inputs": {"day": "2024-05-04"}}, renderer)
    assert parse_local_date("2024-05-04T01:00:00+09:00").isoformat() == "2024-05-04"


# -- what cannot be decided ------------------------------------------------------------------------


def test_what_cannot_be_decided_does_not_hold_and_is_logged(
    renderer: Renderer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "controlplane.engine.conditions")
    cases = [
        (conditions({"type": C + "ExecutionStatus", "in": ["SUCCESS"]}), at("2024-05-04")),
        (conditions({"type": C + "Weekend"}), {"trigger": {}}),
        (conditions({"type": C + "Weekend"}), at("yesterday")),
        (conditions({"type": C + "DateTimeBetween", "after": "2024-05-01T00:00:00"}),
         at("2024-05-04T00:00:00Z")),
        (conditions({"type": C + "DateTimeBetween"}), at("2024-05-04T00:00:00Z")),
        (conditions({"type": C + "HasRetryAttempt"}), {"trigger": {"executionId": "x"}}),
        (conditions({"type": C + "MultipleCondition", "id": "m", "conditions": {
            "a": {"type": C + "ExecutionStatus", "in": ["SUCCESS"]}}}), ended()),
        ([_Unknown(type="io.example.Nope")], ended()),
    ]  # fmt: skip
    for listed, variables in cases:
        assert not holds(listed, variables, renderer, where="ns/flow trigger t")
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == len(cases)
    assert all(m.startswith("ns/flow trigger t: condition ") for m in messages)
    assert "it tests an execution, and there is none here" in messages[0]
    assert "'yesterday' is not an ISO date-time" in messages[2]
    assert "has no zone" in messages[3]
    assert "needs 'after', 'before' or both" in messages[4]
    assert "only a Flow trigger evaluates it" in messages[6]
    assert "_Unknown is not a condition type Weir evaluates" in messages[7]


def test_not_of_an_undecidable_condition_does_not_hold(renderer: Renderer) -> None:
    negated = conditions({"type": C + "Not", "conditions": [{"type": C + "Weekend"}]})
    assert not holds(negated, {}, renderer)


class _Unknown(BaseModel):
    type: str


@pytest.mark.parametrize(
    "name", [C + "FlowCondition", "io.kestra.core.models.conditions.types.FlowCondition"]
)
def test_flow_condition_holds_for_the_triggers_own_flow(renderer: Renderer, name: str) -> None:
    condition = conditions({"type": name, "namespace": "company.team", "flowId": "load"})
    own = {"flow": {"id": "load", "namespace": "company.team"}}
    other = {"flow": {"id": "extract", "namespace": "company.team"}}
    assert holds(condition, own, renderer) is True
    assert holds(condition, other, renderer) is False


@pytest.mark.parametrize(
    ("prefix", "namespace", "expected"),
    [(False, "company.team", True), (False, "company.team.x", False), (True, "company.team.x", True),
     (True, "other", False)],
)  # fmt: skip
def test_flow_namespace_condition_compares_the_triggers_own_namespace(
    renderer: Renderer, prefix: bool, namespace: str, expected: bool
) -> None:
    condition = conditions(
        {"type": C + "FlowNamespaceCondition", "namespace": "company.team", "prefix": prefix}
    )
    assert holds(condition, {"flow": {"id": "f", "namespace": namespace}}, renderer) is expected
