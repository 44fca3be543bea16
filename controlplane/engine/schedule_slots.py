"""The rules of one Schedule trigger that need no database: which slots a scheduler pass
handles, and how the trigger's state starts and follows its executions.

A :class:`ScheduleTrigger` is one Schedule trigger of one flow revision with its parsed cron;
:func:`due_slots` applies the missed-slot policy (``recoverMissedSchedules``) to the slots due
at a moment; :func:`begin` starts a trigger seen for the first time (or enabled again), with
its ``backfill:`` block; :func:`follow` drops the executions that ended and applies
``stopAfter``. The scheduler (``scheduler.py``) fires what they choose and stores the state.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from controlplane.engine.cron import Cron, CronError, Dates, Slots, iso
from controlplane.engine.model import State
from controlplane.engine.schedule_state import ScheduleState, new_backfill, parse_instant
from controlplane.expr import ExpressionError, Renderer
from controlplane.spec.flow import Flow
from controlplane.spec.plugins.triggers import Schedule, ScheduleOnDates

log = logging.getLogger(__name__)

Policy = Literal["ALL", "LAST", "NONE"]
TriggerKey = tuple[str, str, str]


@dataclass(frozen=True)
class ScheduleTrigger:
    """One Schedule (or ScheduleOnDates) trigger of one flow revision, ready to evaluate."""

    flow: Flow
    revision: int
    spec: Schedule | ScheduleOnDates
    cron: Slots

    @property
    def key(self) -> TriggerKey:
        return (self.flow.namespace, self.flow.id, self.spec.id)

    @property
    def where(self) -> str:
        return f"trigger '{self.spec.id}' of flow {self.flow.ref}"

    @property
    def signature(self) -> str:
        return f"{self.cron.expression}|{self.cron.zone.key}|{self.cron.with_seconds}"

    @property
    def tracks(self) -> bool:
        """Whether the executions it creates are followed until they end."""
        return not self.spec.allowConcurrent or bool(self.spec.stopAfter)

    def fire_key(self, slot: datetime) -> str:
        return f"schedule:{self.flow.namespace}/{self.flow.id}/{self.spec.id}@{iso(slot)}"

    def facts(self, slot: datetime) -> dict[str, str | None]:
        """``trigger.date``, ``trigger.next`` and ``trigger.previous`` of a slot, as ISO 8601
        texts in the trigger's time zone."""
        cron = self.cron
        following = cron.next_after(slot)
        preceding = cron.previous_before(slot)
        return {
            "date": iso(cron.local(slot)),
            "next": iso(cron.local(following)) if following else None,
            "previous": iso(cron.local(preceding)) if preceding else None,
        }


def slots_of(
    spec: Schedule | ScheduleOnDates, renderer: Renderer, context: Mapping[str, Any], where: str
) -> Slots:
    """The slots of a Schedule's cron, or of the dates a ScheduleOnDates lists (rendered in the
    trigger's context); CronError names ``where``."""
    if isinstance(spec, Schedule):
        return Cron.parse(spec.cron, spec.timezone, spec.withSeconds, where=where)
    try:
        dates = renderer.render_value(spec.dates, context, typed=True)
    except ExpressionError as exc:
        raise CronError(f"{where}: 'dates' does not render: {exc}") from None
    return Dates.parse(dates if isinstance(dates, list) else [dates], spec.timezone, where=where)


def due_slots(
    trigger: ScheduleTrigger,
    state: ScheduleState,
    first: datetime,
    latest: datetime,
    moment: datetime,
    *,
    policy: Policy,
    missed_after: float,
    limit: int,
) -> Iterator[datetime]:
    """The due slots (``first`` to ``latest``) to handle at ``moment``, by the missed-slot
    ``policy``; moves ``state.next`` past the slots it skips at once."""
    on_time = (moment - latest).total_seconds() <= missed_after
    if first == latest and on_time:
        return iter([latest])
    if policy == "ALL":
        start = first
        delay = trigger.spec.lateMaximumDelay
        if delay is not None:
            # Slots already later than lateMaximumDelay are skipped at once, not per tick.
            start = max(first, trigger.cron.first_at_or_after(moment - delay) or first)
            state.next = start
        end = latest + timedelta(microseconds=1)
        return trigger.cron.slots(start, end, limit=limit)
    if policy == "LAST" or on_time:
        return iter([latest])
    state.next = trigger.cron.next_after(latest)
    log.info("%s: missed slots up to %s are not recovered (NONE)", trigger.where, iso(latest))
    return iter([])


def begin(trigger: ScheduleTrigger, state: ScheduleState, moment: datetime) -> None:
    """A trigger seen for the first time, or enabled again: it starts from ``moment``, and a
    new one with a ``backfill:`` block starts that backfill."""
    new = not state.seen
    state.since = state.since or moment
    state.off = False
    state.signature = trigger.signature
    state.next = trigger.cron.next_after(moment)
    block = trigger.spec.backfill
    if not new or block is None or state.backfill is not None:
        return
    try:
        start = parse_instant(block.start, trigger.cron.zone)
        end = parse_instant(block.end, trigger.cron.zone) if block.end else moment
    except ValueError:
        state.error = (
            f"{trigger.where}: backfill start and end must be ISO 8601 date-times such as "
            "2024-01-01T00:00:00Z; the backfill is ignored"
        )
        log.warning("%s", state.error)
        return
    state.backfill = new_backfill(
        trigger.cron, start, end, moment, block.inputs, block.labels,
        source="flow", paused=block.paused,
    )  # fmt: skip


def follow(
    trigger: ScheduleTrigger, state: ScheduleState, ended: Mapping[str, State | None]
) -> set[str]:
    """Drop the pending executions that ended (``ended``: the states read at the start of the
    pass) and apply ``stopAfter`` to them; returns the ones dropped."""
    finished: set[str] = set()
    for execution_id in state.pending:
        if execution_id not in ended:
            continue  # created after this pass read the states: still running
        end = ended[execution_id]
        if trigger.tracks and end is not None and not end.terminal:
            continue
        finished.add(execution_id)
        if end is not None and end.value in trigger.spec.stopAfter and not state.disabled:
            state.stopped_by = {"executionId": execution_id, "state": end.value}
            log.info(
                "%s is disabled: execution %s ended %s (stopAfter)",
                trigger.where, execution_id, end.value,
            )  # fmt: skip
    if finished:
        state.pending = [p for p in state.pending if p not in finished]
    return finished
