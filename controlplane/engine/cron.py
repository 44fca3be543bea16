"""The slots of a Schedule trigger's cron expression, computed with ``croniter``.

A cron has five fields (minute hour day-of-month month day-of-week), six with ``withSeconds``
(seconds first, as Kestra writes it), or is one of ``@yearly @annually @monthly @weekly @daily
@midnight @hourly``. Slots are computed in the trigger's IANA time zone (UTC by default) on
timezone-aware datetimes, so daylight-saving changes are handled the way croniter handles them
(a local time that does not exist moves forward; one that occurs twice is a slot both times),
and every slot is returned as an aware UTC datetime.
"""

from __future__ import annotations

import bisect
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import CroniterBadDateError, croniter

from controlplane.errors import WeirError
from controlplane.spec.checks import cron_problem


class CronError(WeirError):
    """A Schedule trigger's cron expression or time zone cannot be used."""

    code = "invalid_cron"


@dataclass(frozen=True)
class Cron:
    """A parsed cron expression in its time zone; build it with :meth:`parse`."""

    expression: str
    zone: zoneinfo.ZoneInfo
    with_seconds: bool = False
    _fields: str = field(default="", repr=False)

    @classmethod
    def parse(
        cls,
        expression: str,
        timezone: str | None = None,
        with_seconds: bool = False,
        where: str = "",
    ) -> Cron:
        """Check ``expression`` and ``timezone``; ``where`` names the trigger in the error."""
        prefix = f"{where}: " if where else ""
        problem = cron_problem(expression, with_seconds)
        if problem is not None:
            raise CronError(prefix + problem)
        try:
            zone = zoneinfo.ZoneInfo(timezone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise CronError(
                f"{prefix}unknown time zone '{timezone}'; expected an IANA name like "
                "Europe/Paris or UTC"
            ) from None
        text = expression.strip()
        fields = text.lower() if text.startswith("@") else " ".join(text.split())
        return cls(text, zone, with_seconds and not text.startswith("@"), fields)

    def next_after(self, instant: datetime) -> datetime | None:
        """The first slot strictly after ``instant``; None when the cron never fires again."""
        return self._step(instant, forward=True)

    def previous_before(self, instant: datetime) -> datetime | None:
        """The last slot strictly before ``instant``; None when there is none."""
        return self._step(instant, forward=False)

    def first_at_or_after(self, instant: datetime) -> datetime | None:
        """``instant`` itself when it is a slot, else the first slot after it."""
        before = self.previous_before(instant)
        after = self.next_after(before) if before is not None else self.next_after(instant)
        if after is not None and after < instant:
            return self.next_after(instant)
        return after

    def latest_at_or_before(self, instant: datetime) -> datetime | None:
        """``instant`` itself when it is a slot, else the last slot before it."""
        before = self.previous_before(instant)
        after = self.next_after(before) if before is not None else None
        if after is not None and after <= instant:
            return after
        return before

    def slots(
        self, start: datetime, end: datetime | None = None, limit: int | None = None
    ) -> Iterator[datetime]:
        """Slots from ``start`` (inclusive) to ``end`` (exclusive), at most ``limit`` of them."""
        slot = self.first_at_or_after(start)
        count = 0
        while slot is not None and (end is None or slot < end):
            if limit is not None and count >= limit:
                return
            yield slot
            count += 1
            slot = self.next_after(slot)

    def local(self, slot: datetime) -> datetime:
        """``slot`` in the trigger's time zone."""
        return slot.astimezone(self.zone)

    def _step(self, instant: datetime, *, forward: bool) -> datetime | None:
        if instant.tzinfo is None:
            raise ValueError("cron slots are computed from timezone-aware datetimes")
        try:
            start = instant.astimezone(self.zone)
            if not forward and start.microsecond:
                # croniter drops the fraction of a second: a slot at the whole second before
                # ``instant`` is still strictly before it.
                start = start.replace(microsecond=0) + timedelta(seconds=1)
            iterator: Any = croniter(self._fields, start, second_at_beginning=self.with_seconds)
            found = iterator.get_next(datetime) if forward else iterator.get_prev(datetime)
            moment: datetime = found
            return moment.astimezone(UTC)
        except (CroniterBadDateError, OverflowError):
            # No such slot, or none a datetime can hold (before year 1, after 9999).
            return None


def iso(moment: datetime) -> str:
    """ISO 8601 text of an aware datetime, ``Z`` for UTC: how slots are written and shown."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@dataclass(frozen=True)
class Dates:
    """The slots of a ScheduleOnDates trigger: the listed instants, each once, with the same
    questions a :class:`Cron` answers, so one scheduler serves both."""

    moments: tuple[datetime, ...]
    """Sorted, distinct, aware UTC datetimes truncated to the second."""
    zone: zoneinfo.ZoneInfo
    with_seconds: bool = False

    @classmethod
    def parse(cls, values: list[Any], timezone: str | None = None, where: str = "") -> Dates:
        """ISO 8601 date-times (a date-time without an offset is in ``timezone``)."""
        prefix = f"{where}: " if where else ""
        try:
            zone = zoneinfo.ZoneInfo(timezone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise CronError(f"{prefix}unknown time zone '{timezone}'") from None
        moments = set()
        for value in values:
            try:
                moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
            except ValueError:
                raise CronError(f"{prefix}'{value}' is not an ISO 8601 date-time") from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
            moments.add(moment.astimezone(UTC).replace(microsecond=0))
        return cls(tuple(sorted(moments)), zone)

    @property
    def expression(self) -> str:
        return ",".join(iso(moment) for moment in self.moments)

    def next_after(self, instant: datetime) -> datetime | None:
        index = bisect.bisect_right(self.moments, instant)
        return self.moments[index] if index < len(self.moments) else None

    def previous_before(self, instant: datetime) -> datetime | None:
        index = bisect.bisect_left(self.moments, instant)
        return self.moments[index - 1] if index > 0 else None

    def first_at_or_after(self, instant: datetime) -> datetime | None:
        index = bisect.bisect_left(self.moments, instant)
        return self.moments[index] if index < len(self.moments) else None

    def latest_at_or_before(self, instant: datetime) -> datetime | None:
        index = bisect.bisect_right(self.moments, instant)
        return self.moments[index - 1] if index > 0 else None

    def slots(
        self, start: datetime, end: datetime | None = None, limit: int | None = None
    ) -> Iterator[datetime]:
        chosen = [m for m in self.moments if m >= start and (end is None or m < end)]
        yield from chosen[:limit] if limit is not None else chosen

    def local(self, slot: datetime) -> datetime:
        return slot.astimezone(self.zone)


Slots = Cron | Dates
"""What a scheduled trigger's slots come from."""
