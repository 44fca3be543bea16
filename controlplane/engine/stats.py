"""What an engine counts as it runs, for the server's metrics: attempt durations by task type.

Each engine keeps its own Prometheus registry (not the process-wide default one), so that two
engines in one process, as in the tests, count apart.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, disable_created_metrics
from prometheus_client.registry import Collector

disable_created_metrics()  # type: ignore[no-untyped-call]
"""No ``_created`` series beside each histogram: Prometheus' own text format 0.0.4 has no such
series, and a scraper would take each for a gauge of its own."""

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
"""Upper bounds in seconds (``+Inf`` is implied)."""


class EngineStats:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._durations = Histogram(
            "weir_task_duration_seconds",
            "How long task attempts took, by task type.",
            ["task_type"],
            buckets=BUCKETS,
            registry=self.registry,
        )

    def observe_attempt(self, task_type: str, seconds: float) -> None:
        self._durations.labels(task_type).observe(seconds)

    @property
    def collector(self) -> Collector:
        """The engine's metrics, to be added to the registry a metrics answer is rendered from."""
        return self.registry
