"""``TriggerScheduler``: fires the Schedule triggers of the stored flows, catches up on missed
slots, and replays backfills.

Each :meth:`TriggerScheduler.tick` is one pass over every enabled Schedule trigger of every
latest, live, enabled flow. The pass decides first, then writes twice: the slots it fires, all
in one transaction (``Commands.fire_all``), then the trigger states it changed, in another. A
slot ``s`` fires under the key ``schedule:<namespace>/<flow>/<trigger>@<s in UTC>``: whichever
scheduler fires a slot first creates its execution, and any other (in this process or another)
creates none. What a trigger remembers is its document in ``repos.triggers`` (see
:mod:`controlplane.engine.schedule_state`); the rules that need no database are in
:mod:`controlplane.engine.schedule_slots`.

Rules, in the order a pass applies them to one trigger:

* A trigger seen for the first time (or enabled again) starts at the first slot after now: the
  past is not fired, except the slots of its ``backfill:`` block, replayed as a backfill.
* ``stopAfter``: an execution the trigger created that ended in one of those states disables
  it for good (``stoppedBy`` in its document); it fires no more.
* ``allowConcurrent: false`` (the default): while an execution the trigger created has not
  ended, no slot fires; slots passed meanwhile are missed ones once it has.
* Slots due (at or before now) are handled oldest first. The latest due slot is on time when no
  earlier one is due and it is at most ``missed_after`` seconds old; every other due slot was
  missed (the scheduler was down, or the trigger held). ``recoverMissedSchedules`` (else
  ``SchedulerSettings.recover_missed``) decides: ``ALL`` fires every due slot, at most
  ``max_fires_per_tick`` per pass; ``LAST`` fires only the latest due slot; ``NONE`` fires the
  latest only when it is on time, and otherwise waits for the next slot.
* ``lateMaximumDelay``: a slot older than that when its turn comes is skipped.
* ``conditions`` (and the deprecated ``scheduleConditions``) are tested per slot with the
  context of :func:`~controlplane.engine.triggercontext.trigger_context` (``flow``, ``envs``,
  ``globals``) with ``trigger: {date, next, previous}``; a slot they reject is skipped.
* A backfill replays the slots of ``[start, end)`` (start included, end excluded), at most
  ``backfill_rate`` per pass, with the trigger's conditions and concurrency rule but without
  ``lateMaximumDelay``; its executions carry the label ``system.backfill: "true"`` and the
  backfill's labels, and its inputs over the trigger's.

``trigger.date``, ``trigger.next`` and ``trigger.previous`` are ISO 8601 texts in the trigger's
time zone. A pass fails as a whole when the database does; the thread started by :meth:`start`
logs that and tries again at its next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from controlplane.engine.commands import Commands, Firing
from controlplane.engine.conditions import holds
from controlplane.engine.cron import iso
from controlplane.engine.flowcache import flow_cache
from controlplane.engine.model import Execution, State, now
from controlplane.engine.passes import Passes
from controlplane.engine.ports import FlowRecord, Store
from controlplane.engine.schedule_slots import (
    Policy,
    ScheduleTrigger,
    TriggerKey,
    begin,
    due_slots,
    follow,
    slots_of,
)
from controlplane.engine.schedule_state import (
    BACKFILL_LABEL,
    SCHEDULE_TYPE,
    BackfillState,
    ScheduleState,
)
from controlplane.engine.triggercontext import trigger_context
from controlplane.errors import WeirError
from controlplane.spec.plugins.triggers import Schedule, ScheduleOnDates
from controlplane.spec.problems import FlowInvalid

log = logging.getLogger(__name__)


class SchedulerConfigError(WeirError):
    code = "invalid_scheduler_settings"


@dataclass(frozen=True)
class SchedulerSettings:
    interval: float = 1.0
    """Seconds between two passes of the thread started by ``start``."""
    recover_missed: Policy = "ALL"
    """What to do with missed slots when a trigger does not say (``recoverMissedSchedules``)."""
    max_fires_per_tick: int = 10
    """Slots one trigger handles per pass when catching up: a backlog drains, never bursts."""
    backfill_rate: int = 10
    """Slots of a backfill handled per pass."""
    missed_after: float = 30.0
    """A slot not handled within this many seconds of its time counts as missed."""

    def __post_init__(self) -> None:
        if self.interval <= 0:
            raise SchedulerConfigError(f"interval must be above 0 seconds, not {self.interval}")
        if self.recover_missed not in ("ALL", "LAST", "NONE"):
            raise SchedulerConfigError(
                f"recover_missed must be ALL, LAST or NONE, not {self.recover_missed!r}"
            )
        for name in ("max_fires_per_tick", "backfill_rate"):
            if getattr(self, name) < 1:
                raise SchedulerConfigError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.missed_after < 0:
            raise SchedulerConfigError(f"missed_after must not be negative: {self.missed_after}")


_Parsed = tuple[list[ScheduleTrigger], set[TriggerKey]]


@dataclass
class _Pass:
    """What one evaluation of one trigger did."""

    ended: dict[str, State | None]
    added: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)
    changed: bool = False
    firing: bool = False
    """Whether a slot of the trigger fires in this pass."""


@dataclass(frozen=True)
class _Slot:
    """A slot to fire at the end of the pass, with the trigger and state it belongs to."""

    trigger: ScheduleTrigger
    state: ScheduleState
    run: _Pass
    slot: datetime
    backfill: BackfillState | None
    firing: Firing


_Changed = tuple[ScheduleTrigger, ScheduleState, ScheduleState, _Pass]
"""A trigger, its state after the pass, its state before, and what the pass did."""


@dataclass
class _Batch:
    """One pass: when it looks, and what it writes at its end: the slots it fires, then the
    states it changed."""

    moment: datetime
    ended: dict[str, State | None]
    """The state of each execution a trigger waits for, as the pass read it first."""
    slots: list[_Slot] = field(default_factory=list)
    states: list[_Changed] = field(default_factory=list)


class TriggerScheduler(Passes[_Parsed]):
    thread_name = "weir-scheduler"
    wake_after = 0.005
    """Just after each whole interval, so that a slot is due when it looks."""

    def __init__(
        self,
        store: Store,
        engine: Commands,
        settings: SchedulerSettings | None = None,
        clock: Callable[[], datetime] = now,
    ) -> None:
        self.settings = settings or SchedulerSettings()
        super().__init__(store, engine, self.settings.interval, clock)

    # -- one pass -----------------------------------------------------------------------------
    def tick(self) -> list[Execution]:
        """One pass over every Schedule trigger; returns the executions it created."""
        with self._tick_lock:
            moment = self.clock()
            with self.store.unit(read_only=True) as repos:
                flows = self._current(repos.flows)
                stored = repos.triggers.list_trigger_states()
                docs = {(s.namespace, s.flow_id, s.trigger_id): s.document for s in stored}
                ended = {
                    execution_id: repos.executions.read_execution_state(execution_id)
                    for doc in docs.values()
                    if doc.get("type") == SCHEDULE_TYPE
                    for execution_id in doc.get("pending") or []
                }
            batch = _Batch(moment, ended)
            present: set[TriggerKey] = set()
            unreadable: set[tuple[str, str]] = set()
            for key, parsed in flows:
                if parsed is None:
                    unreadable.add(key)
                    continue
                triggers, declared = parsed
                present |= declared
                for trigger in triggers:
                    self._evaluate_safely(trigger, docs.get(trigger.key), batch)
            created = self._fire_all(batch.slots)
            self._save_all(batch.states)
            self._prune(docs, present, unreadable)
            return created

    def _evaluate_safely(
        self, trigger: ScheduleTrigger, doc: dict[str, Any] | None, batch: _Batch
    ) -> None:
        base = ScheduleState.from_doc(doc)
        run = _Pass(batch.ended)
        planned = len(batch.slots)
        try:
            self._evaluate(trigger, base, run, batch)
        except WeirError as exc:
            del batch.slots[planned:]
            message = f"{trigger.where}: {exc.message}"
            if base.error != message:
                log.warning("%s", message)
                state = base.copy()
                state.error = message
                batch.states.append((trigger, state, base, run))

    def _evaluate(
        self, trigger: ScheduleTrigger, base: ScheduleState, run: _Pass, batch: _Batch
    ) -> None:
        state, moment = base.copy(), batch.moment
        if trigger.spec.disabled or trigger.flow.disabled or state.toggled_off:
            if not state.off:
                state.off = True
                batch.states.append((trigger, state, base, run))
            return
        if not state.seen or state.off:
            begin(trigger, state, moment)
            run.changed = True
        elif state.signature != trigger.signature:
            state.signature = trigger.signature
            state.next = trigger.cron.first_at_or_after(state.next or moment)
            run.changed = True
        finished = follow(trigger, state, run.ended)
        if finished:
            run.finished |= finished
            run.changed = True
        if state.stopped_by is None:
            self._fire_due(trigger, state, run, batch)
            self._fire_backfill(trigger, state, run, batch)
        if run.changed:
            batch.states.append((trigger, state, base, run))

    # -- live slots ---------------------------------------------------------------------------
    def _fire_due(
        self, trigger: ScheduleTrigger, state: ScheduleState, run: _Pass, batch: _Batch
    ) -> None:
        moment = batch.moment
        if state.next is None or state.next > moment or self._held(trigger, state, run):
            return
        cron = trigger.cron
        first = cron.first_at_or_after(state.next)
        latest = cron.latest_at_or_before(moment)
        if first is None or latest is None or latest < first:
            if first != state.next:
                state.next, run.changed = first, True
            return
        delay = trigger.spec.lateMaximumDelay
        before = state.next
        policy = trigger.spec.recoverMissedSchedules or self.settings.recover_missed
        slots = due_slots(
            trigger, state, first, latest, moment,
            policy=policy, missed_after=self.settings.missed_after,
            limit=self.settings.max_fires_per_tick,
        )  # fmt: skip
        for slot in slots:
            if self._held(trigger, state, run):
                break
            state.next = cron.next_after(slot)
            if delay is not None and moment - slot > delay:
                log.info("%s: slot %s is later than lateMaximumDelay; skipped",
                         trigger.where, iso(slot))  # fmt: skip
                continue
            self._plan(trigger, state, run, slot, None, batch)
        run.changed = run.changed or state.next != before

    # -- backfills ----------------------------------------------------------------------------
    def _fire_backfill(
        self, trigger: ScheduleTrigger, state: ScheduleState, run: _Pass, batch: _Batch
    ) -> None:
        backfill = state.backfill
        if backfill is None or backfill.done or backfill.paused:
            return
        for _ in range(self.settings.backfill_rate):
            if self._held(trigger, state, run):
                return
            slot = trigger.cron.first_at_or_after(backfill.position)
            run.changed = True
            if slot is None or slot >= backfill.end:
                backfill.cursor = backfill.end
                return
            backfill.cursor = trigger.cron.next_after(slot) or backfill.end
            backfill.handled += 1
            self._plan(trigger, state, run, slot, backfill, batch)

    # -- firing -------------------------------------------------------------------------------
    def _held(self, trigger: ScheduleTrigger, state: ScheduleState, run: _Pass) -> bool:
        """Without allowConcurrent, a running execution holds the trigger, and so does the
        slot this pass fires (its execution runs once created)."""
        return not trigger.spec.allowConcurrent and (bool(state.pending) or run.firing)

    def _plan(
        self,
        trigger: ScheduleTrigger,
        state: ScheduleState,
        run: _Pass,
        slot: datetime,
        backfill: BackfillState | None,
        batch: _Batch,
    ) -> None:
        """Queue the slot for the pass's firing, unless its conditions reject it."""
        spec = trigger.spec
        variables = self._variables(trigger, slot)
        conditions = [*spec.conditions, *spec.scheduleConditions]
        if conditions and not holds(conditions, variables, self.renderer, where=trigger.where):
            log.debug("%s: conditions skip slot %s", trigger.where, iso(slot))
            return
        try:
            inputs = dict(self.renderer.render_value(spec.inputs, variables, typed=True))
        except WeirError as exc:
            self._failed(trigger, state, slot, exc)
            return
        labels = dict(spec.labels)
        if backfill is not None:
            inputs.update(backfill.inputs)
            labels.update(backfill.labels)
            labels[BACKFILL_LABEL] = "true"
        firing = Firing(
            trigger.fire_key(slot), trigger.flow.namespace, trigger.flow.id, inputs, labels,
            variables["trigger"],
        )  # fmt: skip
        batch.slots.append(_Slot(trigger, state, run, slot, backfill, firing))
        run.firing = True

    def _fire_all(self, slots: list[_Slot]) -> list[Execution]:
        """Fire the pass's slots in one transaction; each slot's key lets only one scheduler
        create its execution."""
        if not slots:
            return []
        created: list[Execution] = []
        answers = self.engine.fire_all([planned.firing for planned in slots])
        for planned, answer in zip(slots, answers, strict=True):
            trigger, state, run, slot = planned.trigger, planned.state, planned.run, planned.slot
            if isinstance(answer, WeirError):
                self._failed(trigger, state, slot, answer)
                continue
            execution_id: str | None
            if answer is not None:
                created.append(answer)
                execution_id, running = answer.id, True
                if planned.backfill is not None:
                    planned.backfill.created += 1
            else:
                execution_id, running = self._fired(planned.firing.key)
            state.error = None
            if state.last is None or slot >= state.last:
                state.last, state.last_execution_id = slot, execution_id
            if execution_id is not None and running and trigger.tracks:
                state.pending.append(execution_id)
                run.added.add(execution_id)
        return created

    def _failed(
        self, trigger: ScheduleTrigger, state: ScheduleState, slot: datetime, exc: WeirError
    ) -> None:
        state.error = f"{trigger.where}: slot {iso(slot)} did not fire: {exc.message}"
        log.warning("%s", state.error)

    def _fired(self, key: str) -> tuple[str | None, bool]:
        """The execution an earlier firing of ``key`` created, and whether it still runs."""
        with self.store.unit(read_only=True) as repos:
            execution_id = repos.triggers.read_fire(key)
            if execution_id is None:
                return None, False
            ended = repos.executions.read_execution_state(execution_id)
        return execution_id, ended is not None and not ended.terminal

    def _variables(self, trigger: ScheduleTrigger, slot: datetime) -> dict[str, Any]:
        facts = trigger.facts(slot)
        return trigger_context(self.engine.settings, trigger.flow, trigger.revision, facts)

    # -- state --------------------------------------------------------------------------------
    def _save_all(self, states: list[_Changed]) -> None:
        """Write the states the pass changed, in one transaction, each over whatever another
        scheduler or the API stored meanwhile (locked in key order, so that two schedulers
        never wait on each other in a circle)."""
        if not states:
            return
        with self.store.unit() as repos:
            for trigger, state, base, run in sorted(states, key=lambda item: item[0].key):
                base_backfill = base.backfill.id if base.backfill is not None else None
                stored = repos.triggers.read_trigger_state(*trigger.key, for_update=True)
                fresh = ScheduleState.from_doc(stored)
                merged = state.merged(fresh, base_backfill, run.added, run.finished)
                repos.triggers.update_trigger_state(*trigger.key, merged.to_doc())

    def _prune(
        self,
        docs: dict[TriggerKey, dict[str, Any]],
        present: set[TriggerKey],
        unreadable: set[tuple[str, str]],
    ) -> None:
        """Forget the state of Schedule triggers that no flow declares any more."""
        gone = [
            key
            for key, doc in docs.items()
            if doc.get("type") == SCHEDULE_TYPE
            and key not in present
            and (key[0], key[1]) not in unreadable
        ]
        if not gone:
            return
        with self.store.unit() as repos:
            for key in gone:
                repos.triggers.delete_trigger_state(*key)

    # -- flows --------------------------------------------------------------------------------
    def _parse(self, record: FlowRecord) -> _Parsed | None:
        if "Schedule" not in record.source:
            return [], set()
        where = f"{record.namespace}/{record.flow_id}"
        try:
            flow = flow_cache(self.store).parse(record)
        except FlowInvalid:
            log.warning("flow %s revision %d does not validate; its schedules are not "
                        "evaluated", where, record.revision)  # fmt: skip
            return None
        found: list[ScheduleTrigger] = []
        declared: set[TriggerKey] = set()
        for spec in flow.triggers:
            if not isinstance(spec, Schedule | ScheduleOnDates):
                continue
            declared.add((record.namespace, record.flow_id, spec.id))
            label = f"trigger '{spec.id}' of flow {where}"
            try:
                context = trigger_context(self.engine.settings, flow, record.revision)
                slots = slots_of(spec, self.renderer, context, label)
            except WeirError as exc:
                log.warning("%s", exc.message)
                continue
            found.append(ScheduleTrigger(flow, record.revision, spec, slots))
        return found, declared
