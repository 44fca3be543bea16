"""What an engine counts as it runs, for the server's metrics: attempt durations by task type."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
"""Upper bounds in seconds, as a Prometheus histogram has them (``+Inf`` is implied)."""


@dataclass
class Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    """Observations at or under each bound (cumulative, as Prometheus reports them)."""
    count: int = 0
    total: float = 0.0


class EngineStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._durations: dict[str, Histogram] = {}

    def observe_attempt(self, task_type: str, seconds: float) -> None:
        with self._lock:
            histogram = self._durations.setdefault(task_type, Histogram())
            histogram.count += 1
            histogram.total += seconds
            for index, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    histogram.counts[index] += 1

    def durations(self) -> dict[str, Histogram]:
        """A copy, by task type."""
        with self._lock:
            return {
                kind: Histogram(list(h.counts), h.count, h.total)
                for kind, h in self._durations.items()
            }
