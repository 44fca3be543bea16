"""Logs and metrics of an execution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from controlplane.engine.ports import LogEntry, LogLevel, Metric
from controlplane.store import SqlStore

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def log(message: str, level: LogLevel = "INFO", execution_id: str = "exec-1") -> LogEntry:
    return LogEntry(
        execution_id=execution_id,
        task_run_id="run-1",
        task_id="say",
        attempt=1,
        level=level,
        message=message,
        at=T0 + timedelta(milliseconds=len(message)),
        namespace="company.team",
        flow_id="hello",
    )


def test_logs_come_back_in_order_and_after_skips_those_read(store: SqlStore) -> None:
    with store.unit() as repos:
        repos.logs.create_logs([log("one"), log("two", "DEBUG"), log("other", execution_id="x")])
    with store.unit() as repos:
        repos.logs.create_logs([log("three", "ERROR")])
    with store.unit() as repos:
        first = repos.logs.list_logs("exec-1")
        assert [entry.message for _, entry in first] == ["one", "two", "three"]
        assert first[0][1] == log("one")
        after = repos.logs.list_logs("exec-1", after=first[1][0])
        assert [entry.message for _, entry in after] == ["three"]
        assert repos.logs.list_logs("exec-1", after=first[2][0]) == []


def test_min_level_leaves_out_lower_levels(store: SqlStore) -> None:
    with store.unit() as repos:
        repos.logs.create_logs(
            [log("t", "TRACE"), log("d", "DEBUG"), log("i"), log("w", "WARN"), log("e", "ERROR")]
        )
    with store.unit() as repos:
        warned = repos.logs.list_logs("exec-1", min_level="WARN")
    assert [entry.message for _, entry in warned] == ["w", "e"]


def test_metrics_round_trip(store: SqlStore) -> None:
    metrics = [
        Metric("exec-1", "run-1", "sync", "rows", "counter", 42.0, {"table": "users"}, T0),
        Metric("exec-1", "run-1", "sync", "duration", "timer", 1.5),
    ]
    with store.unit() as repos:
        repos.metrics.create_metrics(metrics)
    with store.unit() as repos:
        assert repos.metrics.list_metrics("exec-1") == metrics
        assert repos.metrics.list_metrics("exec-2") == []
