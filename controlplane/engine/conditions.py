"""Whether a trigger's conditions hold, as Kestra's ``io.kestra.plugin.core.condition`` types
decide it.

``holds`` evaluates a list of conditions against an expression context. Execution conditions
(``ExecutionStatus``, ``ExecutionFlow``, ``ExecutionNamespace``, ``ExecutionLabels``,
``ExecutionOutputs``, ``HasRetryAttempt``) read the facts of the execution that ended from the
context's ``trigger`` (``executionId``, ``namespace``, ``flowId``, ``flowRevision``, ``state``,
``labels``, ``outputs``, see ``execution_facts``); ``HasRetryAttempt`` also reads
``execution.taskRuns`` (see ``attempt_states``). Date conditions render their ``date``
(``{{ trigger.date }}`` unless set). ``MultipleCondition`` needs a remembered window: the
flow triggers evaluate it, never ``holds``.

A condition that cannot be evaluated (unknown type, missing facts, an expression or a date that
does not render or parse) does not hold: it is logged and the list is false, as Kestra does.
Nothing here raises to the caller.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel

from controlplane.engine.model import TERMINAL, Execution
from controlplane.expr import ExpressionError, Renderer, has_expression
from controlplane.spec.plugins import triggers as spec

log = logging.getLogger(__name__)

DEFAULT_STATES: frozenset[str] = frozenset(state.value for state in TERMINAL)
"""The states a Flow trigger listens to when it names none: every terminal state."""

_WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
_NTH = {"FIRST": 0, "SECOND": 1, "THIRD": 2, "FOURTH": 3}


class NotEvaluable(Exception):
    """Why a condition cannot be decided; it then does not hold."""


def holds(
    conditions: Sequence[BaseModel],
    variables: Mapping[str, Any],
    renderer: Renderer,
    *,
    where: str = "",
) -> bool:
    """Whether every condition holds; ``where`` names the trigger in the log of a condition
    that cannot be evaluated."""
    for condition in conditions:
        try:
            if not test(condition, variables, renderer):
                return False
        except (NotEvaluable, LookupError, TypeError, ValueError, AttributeError) as exc:
            # Facts of an unexpected shape are the caller's bug; the trigger stays alive.
            log.warning(
                "%scondition %s cannot be evaluated, so it does not hold: %s",
                f"{where}: " if where else "",
                getattr(condition, "type", type(condition).__name__),
                exc,
                exc_info=not isinstance(exc, NotEvaluable),
            )
            return False
    return True


def test(condition: BaseModel, variables: Mapping[str, Any], renderer: Renderer) -> bool:
    """Whether one condition holds; raises NotEvaluable when it cannot be decided."""
    for kind, check in _CHECKS:
        if isinstance(condition, kind):
            return check(condition, variables, renderer)
    plugged = _PLUGGED.get(type(condition))
    if plugged is not None:
        return plugged(condition, variables, renderer)
    if isinstance(condition, spec.MultipleCondition):
        raise NotEvaluable(
            "a MultipleCondition needs a remembered window; only a Flow trigger evaluates it"
        )
    raise NotEvaluable(f"{type(condition).__name__} is not a condition type Weir evaluates")


# -- what an ended execution offers -----------------------------------------------------------


def execution_facts(execution: Execution) -> dict[str, Any]:
    """``trigger`` of an execution started by a Flow trigger: the upstream execution's facts,
    its flow outputs included."""
    return {
        "executionId": execution.id,
        "namespace": execution.namespace,
        "flowId": execution.flow_id,
        "flowRevision": execution.flow_revision,
        "state": execution.state.value,
        "labels": dict(execution.labels),
        "outputs": dict(execution.outputs or {}),
    }


def attempt_states(execution: Execution) -> list[dict[str, Any]]:
    """``execution.taskRuns`` of a condition context: each task run's attempt states."""
    return [
        {"taskId": run.task_id, "attempts": [{"state": a.state.value} for a in run.attempts]}
        for run in execution.task_runs
    ]


# -- execution conditions ---------------------------------------------------------------------


def _facts(variables: Mapping[str, Any]) -> Mapping[str, Any]:
    facts = variables.get("trigger")
    if not isinstance(facts, Mapping) or "executionId" not in facts:
        raise NotEvaluable("it tests an execution, and there is none here")
    return facts


def _status(condition: spec.ExecutionStatus, variables: Mapping[str, Any], _: Renderer) -> bool:
    return _state_in(str(_facts(variables).get("state")), condition.in_, condition.notIn)


def _state_in(state: str, in_: Sequence[str], not_in: Sequence[str]) -> bool:
    if in_ and state not in in_:
        return False
    return not (not_in and state in not_in)


def _flow(condition: spec.ExecutionFlow, variables: Mapping[str, Any], _: Renderer) -> bool:
    facts = _facts(variables)
    return facts.get("namespace") == condition.namespace and (
        facts.get("flowId") == condition.flowId
    )


def _own_flow(condition: spec.FlowCondition, variables: Mapping[str, Any], _: Renderer) -> bool:
    flow = variables.get("flow") or {}
    return bool(flow.get("namespace") == condition.namespace and flow.get("id") == condition.flowId)


def _own_namespace(
    condition: spec.FlowNamespaceCondition, variables: Mapping[str, Any], _: Renderer
) -> bool:
    namespace = str((variables.get("flow") or {}).get("namespace"))
    if condition.prefix:
        return namespace.startswith(condition.namespace)
    return namespace == condition.namespace


def _namespace(
    condition: spec.ExecutionNamespace, variables: Mapping[str, Any], _: Renderer
) -> bool:
    namespace = str(_facts(variables).get("namespace"))
    comparison = condition.comparison or ("PREFIX" if condition.prefix else "EQUALS")
    if comparison == "PREFIX":
        return namespace.startswith(condition.namespace)
    if comparison == "SUFFIX":
        return namespace.endswith(condition.namespace)
    return namespace == condition.namespace


def _labels(condition: spec.ExecutionLabels, variables: Mapping[str, Any], _: Renderer) -> bool:
    return labels_match(condition.labels, _facts(variables).get("labels"))


def labels_match(wanted: Mapping[str, str], labels: Any) -> bool:
    """Whether ``labels`` (a map) holds every wanted key with the same value."""
    if not isinstance(labels, Mapping):
        return not wanted
    return all(key in labels and str(labels[key]) == value for key, value in wanted.items())


def _outputs(
    condition: spec.ExecutionOutputs, variables: Mapping[str, Any], renderer: Renderer
) -> bool:
    outputs = _facts(variables).get("outputs")
    if not outputs:
        return False
    return _expression_holds(condition.expression, variables, renderer)


def _expression(condition: spec.Expression, variables: Mapping[str, Any], r: Renderer) -> bool:
    return _expression_holds(condition.expression, variables, r)


def _expression_holds(expression: str, variables: Mapping[str, Any], renderer: Renderer) -> bool:
    """Kestra's rule: the rendered text holds unless it is blank or ``false``."""
    text = _render(expression, variables, renderer).strip()
    return text not in ("", "false")


def _retry(condition: spec.HasRetryAttempt, variables: Mapping[str, Any], _: Renderer) -> bool:
    _facts(variables)
    execution = variables.get("execution")
    runs = execution.get("taskRuns") if isinstance(execution, Mapping) else None
    if not isinstance(runs, list):
        raise NotEvaluable("the task runs of the execution are not known here")
    for run in runs:
        attempts = run.get("attempts") or []
        if len(attempts) < 2:
            continue
        if any(_state_in(str(a.get("state")), condition.in_, condition.notIn) for a in attempts):
            return True
    return False


def _not(condition: spec.Not, variables: Mapping[str, Any], renderer: Renderer) -> bool:
    return not any(test(inner, variables, renderer) for inner in condition.conditions)


def _or(condition: spec.Or, variables: Mapping[str, Any], renderer: Renderer) -> bool:
    return any(test(inner, variables, renderer) for inner in condition.conditions)


# -- date conditions --------------------------------------------------------------------------


def _between(
    condition: spec.DateTimeBetween, variables: Mapping[str, Any], renderer: Renderer
) -> bool:
    current = parse_zoned(_render(condition.date, variables, renderer), "date")
    after = _bound(condition.after, variables, renderer, "after")
    before = _bound(condition.before, variables, renderer, "before")
    if after is None and before is None:
        raise NotEvaluable("DateTimeBetween needs 'after', 'before' or both")
    return (after is None or current > after) and (before is None or current < before)


def _bound(
    value: str | None, variables: Mapping[str, Any], renderer: Renderer, name: str
) -> datetime | None:
    if value is None:
        return None
    text = _render(value, variables, renderer) if has_expression(value) else value
    return parse_zoned(text, name)


def _time_between(
    condition: spec.TimeBetween, variables: Mapping[str, Any], renderer: Renderer
) -> bool:
    current = parse_zoned(_render(condition.date, variables, renderer), "date")
    offset = current.utcoffset() or timedelta()
    moment = _seconds(current.time()) - offset.total_seconds()
    after = _offset_time(condition.after, "after")
    before = _offset_time(condition.before, "before")
    if after is None and before is None:
        raise NotEvaluable("TimeBetween needs 'after', 'before' or both")
    return (after is None or moment > after) and (before is None or moment < before)


def _offset_time(value: str | None, name: str) -> float | None:
    """An ISO time with offset as seconds from midnight UTC of the same day (Java's
    ``OffsetTime`` order: it may fall outside 0..86400)."""
    if value is None:
        return None
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError:
        raise NotEvaluable(
            f"'{name}' {value!r} is not an ISO time such as 10:00:00+02:00"
        ) from None
    offset = parsed.utcoffset()
    if offset is None:
        raise NotEvaluable(f"'{name}' {value!r} has no offset; write it as 10:00:00Z or +02:00")
    return _seconds(parsed) - offset.total_seconds()


def _seconds(moment: time) -> float:
    return moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6


def _day_week(condition: spec.DayWeek, variables: Mapping[str, Any], renderer: Renderer) -> bool:
    day = parse_local_date(_render(condition.date, variables, renderer))
    return _WEEKDAYS[day.weekday()] == condition.dayOfWeek


def _day_week_in_month(
    condition: spec.DayWeekInMonth, variables: Mapping[str, Any], renderer: Renderer
) -> bool:
    day = parse_local_date(_render(condition.date, variables, renderer))
    weekday = _WEEKDAYS.index(condition.dayOfWeek)
    if condition.dayInMonth == "LAST":
        following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        last = following - timedelta(days=1)
        wanted = last - timedelta(days=(last.weekday() - weekday) % 7)
    else:
        first = day.replace(day=1)
        wanted = first + timedelta(days=(weekday - first.weekday()) % 7)
        wanted += timedelta(weeks=_NTH[condition.dayInMonth])
    return wanted == day


def _weekend(condition: spec.Weekend, variables: Mapping[str, Any], renderer: Renderer) -> bool:
    return parse_local_date(_render(condition.date, variables, renderer)).weekday() >= 5


def _public_holiday(
    condition: spec.PublicHoliday, variables: Mapping[str, Any], renderer: Renderer
) -> bool:
    import holidays  # loads its country tables: only when a flow asks for them

    day = parse_local_date(_render(condition.date, variables, renderer))
    country = condition.country or _default_country()
    try:
        calendar = holidays.country_holidays(country, subdiv=condition.subDivision, years=day.year)
    except NotImplementedError:
        raise NotEvaluable(
            f"no public holidays are known for country '{country}' "
            f"and subdivision '{condition.subDivision}' (use an ISO 3166 code such as FR, US-CA)"
        ) from None
    return day in calendar


def _default_country() -> str:
    """Kestra defaults to the JVM's locale; Weir to the LANG country (en_US.UTF-8 -> US)."""
    lang = os.environ.get("LANG", "")
    territory = lang.split(".")[0].partition("_")[2]
    if not territory:
        raise NotEvaluable("PublicHoliday needs 'country' (an ISO 3166 code such as FR)")
    return territory


def parse_zoned(text: str, name: str = "date") -> datetime:
    """An ISO-8601 date-time with a zone or offset (``2024-05-01T10:00:00Z``, ``...+02:00``,
    ``...+02:00[Europe/Paris]``)."""
    value = text.strip()
    if value.endswith("]") and "[" in value:
        value = value[: value.index("[")]
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise NotEvaluable(
            f"{name} {text!r} is not an ISO date-time such as 2024-05-01T10:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        raise NotEvaluable(f"{name} {text!r} has no zone; end it with Z or an offset")
    return parsed


def parse_local_date(text: str) -> date:
    """A date alone (``2024-05-01``), or the local date of a zoned date-time."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return parse_zoned(text).date()


def _render(template: str, variables: Mapping[str, Any], renderer: Renderer) -> str:
    try:
        return renderer.render(template, variables)
    except ExpressionError as exc:
        raise NotEvaluable(f"{template!r} does not render: {exc}") from None


_Check = Callable[[Any, Mapping[str, Any], Renderer], bool]
_CHECKS: tuple[tuple[type[BaseModel], _Check], ...] = (
    (spec.ExecutionStatus, _status),
    (spec.ExecutionFlow, _flow),
    (spec.ExecutionNamespace, _namespace),
    (spec.FlowCondition, _own_flow),
    (spec.FlowNamespaceCondition, _own_namespace),
    (spec.ExecutionLabels, _labels),
    (spec.ExecutionOutputs, _outputs),
    (spec.Expression, _expression),
    (spec.HasRetryAttempt, _retry),
    (spec.Not, _not),
    (spec.Or, _or),
    (spec.DateTimeBetween, _between),
    (spec.TimeBetween, _time_between),
    (spec.DayWeek, _day_week),
    (spec.DayWeekInMonth, _day_week_in_month),
    (spec.Weekend, _weekend),
    (spec.PublicHoliday, _public_holiday),
)

_PLUGGED: dict[type[BaseModel], _Check] = {}


def checks(model: type[BaseModel]) -> Callable[[_Check], _Check]:
    """Register how a condition type is evaluated: ``check(condition, variables, renderer)``
    answers whether it holds (raise NotEvaluable when it cannot be decided)."""

    def decorate(check: _Check) -> _Check:
        if model in _PLUGGED or any(model is kind for kind, _ in _CHECKS):
            raise ValueError(f"{model.__name__} has two condition checks")
        _PLUGGED[model] = check
        return check

    return decorate
