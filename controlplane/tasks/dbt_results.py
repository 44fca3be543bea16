"""What dbt reports, read back: its JSON log lines, and the node results of a
``run_results.json`` (logged, measured and returned by unique id). Shared by the dbt-core tasks
and dbt Cloud's job runs."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from controlplane.engine.ports import LogLevel
from controlplane.engine.runnable import RunContext

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
FAILED = ("error", "fail", "runtime error")
"""Node statuses that fail the task."""
_LEVELS: dict[str, LogLevel] = {
    "debug": "DEBUG",
    "info": "INFO",
    "warn": "WARN",
    "warning": "WARN",
    "error": "ERROR",
}


def report_run_results(ctx: RunContext, results: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Log and measure each node result of one ``run_results.json``; the nodes by unique id."""
    nodes: dict[str, dict[str, Any]] = {}
    for result in results.get("results") or []:
        if not isinstance(result, dict) or not isinstance(result.get("unique_id"), str):
            continue
        node = _node(result)
        unique_id = result["unique_id"]
        nodes[unique_id] = node
        ctx.log(_node_level(node["status"]), _node_line(unique_id, node))
        _measure(ctx, unique_id, node)
    return nodes


def _measure(ctx: RunContext, unique_id: str, node: Mapping[str, Any]) -> None:
    ctx.metric("nodes", 1, status=str(node["status"]))
    if isinstance(node["executionTime"], int | float):
        ctx.metric("execution.time", node["executionTime"], "timer", node=unique_id)
    response = node["adapterResponse"]
    for key, name in (
        ("rows_affected", "rows.affected"),
        ("bytes_processed", "bytes.processed"),
    ):
        value = response.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            ctx.metric(name, value, node=unique_id)


def _node(result: Mapping[str, Any]) -> dict[str, Any]:
    response = result.get("adapter_response")
    return {
        "status": str(result.get("status")),
        "executionTime": result.get("execution_time"),
        "message": result.get("message"),
        "failures": result.get("failures"),
        "adapterResponse": response if isinstance(response, dict) else {},
    }


def _node_level(status: str) -> LogLevel:
    if status in FAILED:
        return "ERROR"
    return "WARN" if status == "warn" else "INFO"


def _node_line(unique_id: str, node: Mapping[str, Any]) -> str:
    line = f"{unique_id} => {node['status']}"
    if isinstance(node["executionTime"], int | float):
        line += f" in {node['executionTime']:.2f}s"
    rows = node["adapterResponse"].get("rows_affected")
    if isinstance(rows, int) and not isinstance(rows, bool):
        line += f", {rows} row{'' if rows == 1 else 's'} affected"
    failures = node["failures"]
    if isinstance(failures, int) and failures > 0:
        line += f", {failures} failure{'' if failures == 1 else 's'}"
    if node["message"]:
        line += f": {node['message']}"
    return line


def log_event(line: str) -> tuple[LogLevel, str] | None:
    """Level and message of a dbt JSON log line; None for any other line."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        event = json.loads(text)
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    nested = event.get("info")
    info: dict[str, Any] = nested if isinstance(nested, dict) else event
    level = info.get("level")
    if not isinstance(level, str):
        return None
    message = info.get("msg")
    return _LEVELS.get(level.lower(), "INFO"), ANSI.sub("", str(message or "")).rstrip()


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def invocation_of(results: Mapping[str, Any] | None) -> str | None:
    metadata = (results or {}).get("metadata")
    invocation = metadata.get("invocation_id") if isinstance(metadata, dict) else None
    return str(invocation) if invocation is not None else None


def invocation_id(path: Path) -> str | None:
    return invocation_of(read_json(path)) if path.is_file() else None


def stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size
