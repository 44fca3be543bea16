"""Which slots of a Schedule trigger a scheduler pass handles.

A :class:`ScheduleTrigger` is one Schedule trigger of one flow revision with its parsed cron;
:func:`due_slots` applies the missed-slot policy (``recoverMissedSchedules``) to the slots due
at a moment. Both are pure: the scheduler (``scheduler.py``) fires what they choose and keeps
the trigger's state.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from controlplane.engine.cron import Cron, iso
from controlplane.engine.schedule_state import ScheduleState
from controlplane.spec.flow import Flow
from controlplane.spec.plugins.triggers import Schedule

log = logging.getLogger(__name__)

Policy = Literal["ALL", "LAST", "NONE"]
TriggerKey = tuple[str, str, str]


@dataclass(frozen=True)
class ScheduleTrigger:
    """One Schedule trigger of one flow revision, ready to evaluate."""

    flow: Flow
    revision: int
    spec: Schedule
    cron: Cron

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
