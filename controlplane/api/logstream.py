"""An execution's log lines, as ``LogLine`` and followed live as Server-Sent Events.

The stream polls the store, in a worker thread so the event loop never waits on the database,
and sends each new line as ``event: log`` with its ``seq`` as the event id (what a reconnecting
client sends back as ``Last-Event-ID``). Once the execution is over and every line was sent, it
sends one ``event: end`` with ``{"state": ...}`` and closes. It stops early when the client
disconnects.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime

from fastapi import Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from controlplane.engine.model import Execution, State
from controlplane.engine.ports import LogEntry, LogLevel, Store

POLL_SECONDS = 0.2
"""How often a followed execution's new logs are looked for."""
KEEP_ALIVE_SECONDS = 15.0
"""How long a log stream may stay silent before a comment keeps proxies from closing it."""
BATCH = 1000
"""Log lines read and sent at once: the first of a long history reach the reader early."""


class LogLine(BaseModel):
    seq: int
    at: datetime
    level: LogLevel
    taskId: str | None
    taskRunId: str | None
    attempt: int | None
    message: str

    @classmethod
    def of(cls, seq: int, entry: LogEntry) -> LogLine:
        return cls(
            seq=seq,
            at=entry.at,
            level=entry.level,
            taskId=entry.task_id,
            taskRunId=entry.task_run_id,
            attempt=entry.attempt,
            message=entry.message,
        )


async def log_events(
    request: Request, store: Store, execution_id: str, min_level: LogLevel, after: int
) -> AsyncIterator[str]:
    quiet_since = time.monotonic()
    while True:
        state, over, entries = await run_in_threadpool(
            _poll_logs, store, execution_id, min_level, after
        )
        if entries:
            # One write for the whole poll: a long history is one chunk, not one per line.
            after = entries[-1][0]
            yield "".join(
                f"id: {seq}\nevent: log\ndata: {LogLine.of(seq, entry).model_dump_json()}\n\n"
                for seq, entry in entries
            )
        if state is None:  # deleted while followed
            return
        if len(entries) == BATCH:
            continue  # more are waiting: send them before anything else
        if over:
            yield f"event: end\ndata: {json.dumps({'state': state.value})}\n\n"
            return
        if entries:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= KEEP_ALIVE_SECONDS:
            yield ": keep-alive\n\n"
            quiet_since = time.monotonic()
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_SECONDS)


def _poll_logs(
    store: Store, execution_id: str, min_level: LogLevel, after: int
) -> tuple[State | None, bool, list[tuple[int, LogEntry]]]:
    """The execution's state, whether it is over, and its logs after ``after`` (``BATCH`` at
    most: a long history reaches the reader in parts, the first of them soon).

    One transaction, the execution read first: when it is over, every log it wrote is in the
    same answer or, when that holds ``BATCH``, in the next ones. Its task runs are read only
    once its own state has ended.
    """
    with store.unit(read_only=True) as repos:
        state = repos.executions.read_execution_state(execution_id)
        over = False
        if state is not None and state.terminal:
            execution = repos.executions.read_execution(execution_id)
            if execution is not None:
                state, over = execution.state, _over(execution)
        entries = repos.logs.list_logs(execution_id, min_level, after, limit=BATCH)
    return state, over, entries


def _over(execution: Execution) -> bool:
    """Ended, with every task run ended too: nothing will log for it any more."""
    return execution.state.terminal and all(run.state.terminal for run in execution.task_runs)
