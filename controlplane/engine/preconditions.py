"""Preconditions of a Flow trigger: sets of conditions met by several upstream executions
within a time window.

A Flow trigger's ``preconditions`` (``flows`` and ``where`` filters) and each legacy
``MultipleCondition`` in its ``conditions`` are a :class:`Group`. Each condition of a group met
by an ended execution is remembered with its time in the group's part of the trigger's state
document; the group is complete once every condition is met within the current window. Windows
follow Kestra's ``timeWindow``:

- ``DURATION_WINDOW`` (default, ``window`` 1 day): fixed windows of ``window`` from midnight UTC,
  shifted by ``windowAdvance``; a new window forgets what the previous one remembered.
- ``SLIDING_WINDOW`` (``window``, default 1 day): a condition counts while it was met less than
  ``window`` ago.
- ``DAILY_TIME_DEADLINE`` (``deadline``): from midnight UTC to the deadline each day; nothing is
  remembered after it.
- ``DAILY_TIME_WINDOW`` (``startTime``, ``endTime``): between the two each day (UTC).

The functions are pure: they take the group's remembered part and return the new one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel

from controlplane.engine.conditions import NotEvaluable, labels_match, test
from controlplane.expr import ExpressionError, Renderer, is_truthy
from controlplane.spec.plugins import triggers as spec

log = logging.getLogger(__name__)

Check = Callable[[Mapping[str, Any], Renderer], bool]
"""Whether an ended execution (the context's ``trigger`` facts) meets one condition."""

_DAY = timedelta(days=1)
_ZERO = timedelta()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    type: str
    size: timedelta
    advance: timedelta = timedelta()
    start: time | None = None
    end: time | None = None
    """``startTime`` / ``endTime`` of a daily window; ``end`` alone is a daily deadline."""

    def bounds(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """The fixed window ``moment`` falls in, or None outside any (after a deadline)."""
        if self.type == "DURATION_WINDOW":
            size = self.size if self.size > timedelta() else _DAY
            elapsed = moment - _EPOCH - self.advance
            begin = _EPOCH + self.advance + size * (elapsed // size)
            return begin, begin + size
        midnight = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        begin = midnight + _offset(self.start) if self.start is not None else midnight
        end = midnight + _offset(self.end) if self.end is not None else midnight + _DAY
        if not begin <= moment < end:
            return None
        return begin, end


def _offset(moment: time) -> timedelta:
    return timedelta(hours=moment.hour, minutes=moment.minute, seconds=moment.second)


@dataclass(frozen=True)
class Group:
    key: str
    """Where the group's memory lies in the trigger's state document."""
    checks: dict[str, Check]
    window: Window
    reset: bool


def groups_of(trigger: spec.FlowTrigger) -> list[Group]:
    """The precondition groups of a Flow trigger: its legacy MultipleConditions, then its
    ``preconditions``. Raises NotEvaluable when a time window lacks what its type needs."""
    groups = [
        _multiple(condition)
        for condition in trigger.conditions
        if isinstance(condition, spec.MultipleCondition)
    ]
    pre = trigger.preconditions
    if pre is not None and (pre.flows or pre.where):
        checks: dict[str, Check] = {}
        for index, upstream in enumerate(pre.flows):
            checks[f"flows[{index}]"] = _upstream_check(upstream)
        for where in pre.where:
            checks[f"where:{where.id}"] = _where_check(where)
        groups.append(
            Group(f"preconditions:{pre.id or trigger.id}", checks, window_of(pre.timeWindow),
                  pre.resetOnSuccess)
        )  # fmt: skip
    return groups


def _multiple(condition: spec.MultipleCondition) -> Group:
    if condition.timeWindow is not None:
        window = window_of(condition.timeWindow)
    else:
        window = Window(
            "DURATION_WINDOW", condition.window or _DAY, condition.windowAdvance or _ZERO
        )
    checks = {name: _condition_check(inner) for name, inner in condition.conditions.items()}
    return Group(f"multiple:{condition.id}", checks, window, condition.resetOnSuccess)


def window_of(window: spec.TimeWindow) -> Window:
    size = window.window or _DAY
    if window.type == "DURATION_WINDOW":
        return Window(window.type, size, window.windowAdvance or timedelta())
    if window.type == "SLIDING_WINDOW":
        return Window(window.type, size)
    if window.type == "DAILY_TIME_DEADLINE":
        if window.deadline is None:
            raise NotEvaluable("timeWindow DAILY_TIME_DEADLINE needs 'deadline', e.g. 09:00:00")
        return Window(window.type, _DAY, end=_local_time(window.deadline, "deadline"))
    if window.startTime is None or window.endTime is None:
        raise NotEvaluable("timeWindow DAILY_TIME_WINDOW needs 'startTime' and 'endTime'")
    start = _local_time(window.startTime, "startTime")
    return Window(window.type, _DAY, start=start, end=_local_time(window.endTime, "endTime"))


def _local_time(text: str, name: str) -> time:
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise NotEvaluable(f"timeWindow '{name}' {text!r} is not a time such as 09:00:00") from None


# -- checks -----------------------------------------------------------------------------------


def _condition_check(condition: BaseModel) -> Check:
    def check(variables: Mapping[str, Any], renderer: Renderer) -> bool:
        return test(condition, variables, renderer)

    return check


def _upstream_check(upstream: spec.UpstreamFlow) -> Check:
    def check(variables: Mapping[str, Any], _: Renderer) -> bool:
        facts = variables["trigger"]
        if facts["namespace"] != upstream.namespace:
            return False
        if upstream.flowId is not None and facts["flowId"] != upstream.flowId:
            return False
        if upstream.states and facts["state"] not in upstream.states:
            return False
        return labels_match(upstream.labels, facts["labels"])

    return check


def _where_check(where: spec.Where) -> Check:
    def check(variables: Mapping[str, Any], renderer: Renderer) -> bool:
        results = (_filter(item, variables, renderer) for item in where.filters)
        return any(results) if where.operand == "OR" else all(results)

    return check


def _filter(item: spec.Filter, variables: Mapping[str, Any], renderer: Renderer) -> bool:
    facts = variables["trigger"]
    field: str | None
    if item.field == "FLOW_ID":
        field = facts["flowId"]
    elif item.field == "NAMESPACE":
        field = facts["namespace"]
    elif item.field == "STATE":
        field = facts["state"]
    else:
        try:
            field = renderer.render(item.value or "", variables)
        except ExpressionError as exc:
            raise NotEvaluable(f"filter expression {item.value!r} does not render: {exc}") from None
    return _compare(item, field)


def _compare(item: spec.Filter, field: str | None) -> bool:
    value = item.value
    kind = item.type
    if kind in ("IS_NULL", "IS_NOT_NULL"):
        return (field is None) is (kind == "IS_NULL")
    if kind in ("IS_TRUE", "IS_FALSE"):
        return is_truthy(field) is (kind == "IS_TRUE")
    if kind in ("IN", "NOT_IN"):
        return (field in item.values) is (kind == "IN")
    if value is None:
        raise NotEvaluable(f"filter {item.field} {kind} needs a 'value'")
    if kind in ("EQUAL_TO", "NOT_EQUAL_TO"):
        return (field == value) is (kind == "EQUAL_TO")
    if field is None:
        return False
    if kind == "STARTS_WITH":
        return field.startswith(value)
    if kind == "ENDS_WITH":
        return field.endswith(value)
    if kind == "CONTAINS":
        return value in field
    try:
        return re.fullmatch(value, field) is not None
    except re.error as exc:
        raise NotEvaluable(f"filter REGEX {value!r} is not a regular expression: {exc}") from None


# -- memory -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    memory: dict[str, Any]
    """The group's new part of the trigger state."""
    matched: bool
    """The execution met at least one condition of the group."""
    complete: bool
    """Every condition of the group is met within the window."""


def remember(
    group: Group,
    memory: Mapping[str, Any] | None,
    variables: Mapping[str, Any],
    renderer: Renderer,
    moment: datetime,
    where: str,
) -> Outcome:
    """What the group remembers once the execution in ``variables`` is looked at, at
    ``moment``. A condition that cannot be decided is logged and not met."""
    kept: dict[str, Any] = {}
    if group.window.type != "SLIDING_WINDOW":
        bounds = group.window.bounds(moment)
        if bounds is None:
            return Outcome({"met": {}}, False, False)
        kept.update(start=bounds[0].isoformat(), end=bounds[1].isoformat())
    met = _still_met(group.window, memory or {}, moment)
    kept["met"] = met
    matched = False
    facts = variables["trigger"]
    for name, check in group.checks.items():
        try:
            hit = check(variables, renderer)
        except NotEvaluable as exc:
            log.warning("%s: precondition %s cannot be evaluated: %s", where, name, exc)
            hit = False
        if hit:
            matched = True
            met[name] = {"at": moment.isoformat(), "executionId": facts["executionId"]}
    complete = matched and set(met) >= set(group.checks)
    return Outcome(kept, matched, complete)


def _still_met(window: Window, memory: Mapping[str, Any], moment: datetime) -> dict[str, Any]:
    """What the memory holds that still counts at ``moment``."""
    met = dict(memory.get("met") or {})
    if window.type == "SLIDING_WINDOW":
        horizon = moment - window.size
        return {k: v for k, v in met.items() if datetime.fromisoformat(v["at"]) > horizon}
    bounds = window.bounds(moment)
    if bounds is None or memory.get("start") != bounds[0].isoformat():
        return {}
    return met


def reset(memory: Mapping[str, Any]) -> dict[str, Any]:
    """The memory of a group once it fired with ``resetOnSuccess``."""
    return {**memory, "met": {}}
