"""What the scheduler remembers of one Schedule trigger, as the JSON document of its row in
``repos.triggers`` (times as ISO 8601 text, ``Z`` for UTC)::

    {
      "type": "io.kestra.plugin.core.trigger.Schedule",
      "since": "...",            first seen by a scheduler; absent: never evaluated yet
      "signature": "cron|zone|withSeconds",
      "next": "...",             no slot before this instant is left to handle
      "last": "...", "lastExecutionId": "...",
      "pending": ["<execution id>", ...],     created by the trigger and not seen ended
      "stoppedBy": {"executionId": "...", "state": "FAILED"} | null,   stopAfter disabled it
      "off": false,              the flow or the trigger is disabled in its YAML
      "disabled": false,         switched off by trigger.Toggle
      "error": "..." | null,     the last problem met while firing
      "backfill": {"id", "start", "end", "inputs", "labels", "cursor", "handled", "created",
                   "total", "paused", "source", "requested"} | null
    }

Several schedulers may evaluate the same trigger at once, and the API may change its backfill
meanwhile: a scheduler writes its result with :meth:`ScheduleState.merged`, inside the unit
that re-reads the stored document, so progress only moves forward and nothing another writer
recorded is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from controlplane.engine.cron import Slots, iso
from controlplane.engine.model import new_id

SCHEDULE_TYPE = "io.kestra.plugin.core.trigger.Schedule"
POLL_TYPE = "poll"
"""The ``type`` of a polling trigger's document (:mod:`controlplane.engine.polling`), which keeps
``next``, ``last``, ``lastExecutionId``, ``pending`` and ``error`` as a Schedule's does."""
BACKFILL_LABEL = "system.backfill"
TOTAL_LIMIT = 10_000
"""Backfills are counted up to this many slots; a larger one shows no total."""


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _text(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None


@dataclass
class BackfillState:
    """A replay of the slots of ``[start, end)``: ``start`` included, ``end`` excluded."""

    id: str
    start: datetime
    end: datetime
    requested: datetime
    inputs: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    cursor: datetime | None = None
    """No slot of the range before this instant is left; ``start`` when None."""
    handled: int = 0
    """Slots handled: fired, found fired already, or skipped by the trigger's conditions."""
    created: int = 0
    """Executions the backfill created."""
    total: int | None = None
    """Slots in the range, when counted (up to ``TOTAL_LIMIT``)."""
    paused: bool = False
    source: str = "api"
    """``api`` (a request) or ``flow`` (the trigger's ``backfill`` block)."""

    @property
    def position(self) -> datetime:
        return self.cursor or self.start

    @property
    def done(self) -> bool:
        return self.position >= self.end

    def to_doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "start": iso(self.start),
            "end": iso(self.end),
            "requested": iso(self.requested),
            "inputs": self.inputs,
            "labels": self.labels,
            "cursor": _text(self.cursor),
            "handled": self.handled,
            "created": self.created,
            "total": self.total,
            "paused": self.paused,
            "source": self.source,
            "done": self.done,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> BackfillState:
        start = datetime.fromisoformat(doc["start"])
        return cls(
            id=str(doc["id"]),
            start=start,
            end=datetime.fromisoformat(doc["end"]),
            requested=_time(doc.get("requested")) or start,
            inputs=dict(doc.get("inputs") or {}),
            labels={str(k): str(v) for k, v in (doc.get("labels") or {}).items()},
            cursor=_time(doc.get("cursor")),
            handled=int(doc.get("handled") or 0),
            created=int(doc.get("created") or 0),
            total=doc.get("total"),
            paused=bool(doc.get("paused", False)),
            source=str(doc.get("source") or "api"),
        )


def new_backfill(
    cron: Slots,
    start: datetime,
    end: datetime,
    requested: datetime,
    inputs: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
    *,
    source: str = "api",
    paused: bool = False,
) -> BackfillState:
    """A backfill of the slots of ``[start, end)``, with its slots counted."""
    counted = sum(1 for _ in cron.slots(start, end, limit=TOTAL_LIMIT + 1))
    return BackfillState(
        id=new_id(),
        start=start,
        end=end,
        requested=requested,
        inputs=dict(inputs or {}),
        labels=dict(labels or {}),
        total=counted if counted <= TOTAL_LIMIT else None,
        paused=paused,
        source=source,
    )


def parse_instant(text: str, zone: Any) -> datetime:
    """An ISO 8601 date-time; one without an offset is read in ``zone``. Raises ValueError."""
    value = text.strip()
    if value.endswith("]") and "[" in value:
        value = value[: value.index("[")]
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


@dataclass
class ScheduleState:
    since: datetime | None = None
    signature: str | None = None
    next: datetime | None = None
    last: datetime | None = None
    last_execution_id: str | None = None
    pending: list[str] = field(default_factory=list)
    stopped_by: dict[str, str] | None = None
    off: bool = False
    toggled_off: bool = False
    error: str | None = None
    backfill: BackfillState | None = None

    @property
    def seen(self) -> bool:
        """Whether a scheduler has evaluated the trigger before."""
        return self.since is not None

    @property
    def disabled(self) -> bool:
        return self.stopped_by is not None or self.off or self.toggled_off

    def to_doc(self) -> dict[str, Any]:
        return {
            "type": SCHEDULE_TYPE,
            "since": _text(self.since),
            "signature": self.signature,
            "next": _text(self.next),
            "last": _text(self.last),
            "lastExecutionId": self.last_execution_id,
            "pending": list(self.pending),
            "stoppedBy": self.stopped_by,
            "off": self.off,
            "disabled": self.toggled_off,
            "error": self.error,
            "backfill": self.backfill.to_doc() if self.backfill is not None else None,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> ScheduleState:
        if not doc:
            return cls()
        backfill = doc.get("backfill")
        return cls(
            since=_time(doc.get("since")),
            signature=doc.get("signature"),
            next=_time(doc.get("next")),
            last=_time(doc.get("last")),
            last_execution_id=doc.get("lastExecutionId"),
            pending=[str(item) for item in doc.get("pending") or []],
            stopped_by=doc.get("stoppedBy"),
            off=bool(doc.get("off", False)),
            toggled_off=doc.get("disabled") is True,
            error=doc.get("error"),
            backfill=BackfillState.from_doc(backfill) if backfill else None,
        )

    def copy(self) -> ScheduleState:
        return ScheduleState.from_doc(self.to_doc())

    def merged(
        self,
        fresh: ScheduleState,
        base_backfill: str | None,
        added: set[str],
        finished: set[str],
    ) -> ScheduleState:
        """This evaluation's result combined with ``fresh``, the document stored now.

        ``base_backfill`` is the id of the backfill this evaluation started from; ``added`` and
        ``finished`` are the pending executions it created or saw end.
        """
        if not fresh.seen and fresh.backfill is None and not fresh.pending:
            if self.toggled_off == fresh.toggled_off:
                return self
            return replace(self, toggled_off=fresh.toggled_off)
        merged = replace(self)
        merged.since = _earlier(self.since, fresh.since)
        merged.next = _later(self.next, fresh.next)
        if fresh.last is not None and (self.last is None or fresh.last > self.last):
            merged.last, merged.last_execution_id = fresh.last, fresh.last_execution_id
        pending = [p for p in fresh.pending if p not in finished]
        pending += [p for p in self.pending if p in added and p not in pending]
        merged.pending = pending
        merged.stopped_by = self.stopped_by or fresh.stopped_by
        merged.toggled_off = fresh.toggled_off  # only trigger.Toggle writes it
        merged.backfill = _backfill(self.backfill, fresh.backfill, base_backfill)
        return merged


def _earlier(mine: datetime | None, theirs: datetime | None) -> datetime | None:
    if mine is None or theirs is None:
        return mine or theirs
    return min(mine, theirs)


def _later(mine: datetime | None, theirs: datetime | None) -> datetime | None:
    if mine is None or theirs is None:
        return mine or theirs
    return max(mine, theirs)


def _backfill(
    mine: BackfillState | None, fresh: BackfillState | None, base: str | None
) -> BackfillState | None:
    mine_id = mine.id if mine is not None else None
    fresh_id = fresh.id if fresh is not None else None
    if mine is not None and fresh is not None and mine_id == fresh_id:
        ahead = mine if mine.position >= fresh.position else fresh
        return replace(ahead, paused=fresh.paused)
    if fresh_id == base:
        # Nobody replaced or cancelled it meanwhile: this evaluation's version stands.
        return mine
    return fresh
