"""The engine's timers: events due at an instant (a pause's end, a retry's delay, an SLA), kept
in order of the instant."""

from __future__ import annotations

import heapq
from datetime import datetime

from controlplane.engine.events import Event
from controlplane.engine.model import now


class Timers:
    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, Event]] = []
        self._count = 0

    def __len__(self) -> int:
        return len(self._heap)

    def later(self, when: datetime, event: Event) -> None:
        """Hand ``event`` to the loop at ``when``."""
        self._count += 1
        heapq.heappush(self._heap, (when, self._count, event))

    def timeout(self) -> float | None:
        """Seconds until the first timer is due; None when none is set."""
        if not self._heap:
            return None
        return max(0.0, (self._heap[0][0] - now()).total_seconds())

    def due(self) -> list[Event]:
        """The events whose instant has come, taken off the timers."""
        moment = now()
        found: list[Event] = []
        while self._heap and self._heap[0][0] <= moment:
            found.append(heapq.heappop(self._heap)[2])
        return found
