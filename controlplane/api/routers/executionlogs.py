"""An execution's logs: read, or followed as Server-Sent Events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from controlplane.api.auth import Caller
from controlplane.api.deps import StoreDep
from controlplane.api.executionviews import ExecutionIdPath, visible
from controlplane.api.logstream import LogLine, log_events
from controlplane.engine.ports import LogLevel

router = APIRouter()


@router.get("/{execution_id}/logs", summary="Read an execution's logs")
def list_logs(
    execution_id: ExecutionIdPath,
    caller: Caller,
    store: StoreDep,
    min_level: LogLevel = "TRACE",
    after: Annotated[int, Query(ge=0, description="The last seq already read.")] = 0,
) -> list[LogLine]:
    visible(store, caller, execution_id, "read")
    with store.unit(read_only=True) as repos:
        entries = repos.logs.list_logs(execution_id, min_level, after)
    return [LogLine.of(seq, entry) for seq, entry in entries]


@router.get(
    "/{execution_id}/logs/follow",
    summary="Follow an execution's logs",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def follow_logs(
    execution_id: ExecutionIdPath,
    request: Request,
    caller: Caller,
    store: StoreDep,
    min_level: LogLevel = "TRACE",
    after: Annotated[int, Query(ge=0, description="The last seq already read.")] = 0,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0)] = None,
) -> StreamingResponse:
    """Server-Sent Events: ``event: log`` with a LogLine (its ``seq`` as the event id) for
    each line, then one ``event: end`` with ``{"state": ...}`` once the execution is over and
    every line was sent. A reconnecting client's ``Last-Event-ID`` resumes after that line."""
    await run_in_threadpool(visible, store, caller, execution_id, "read")
    start = max(after, last_event_id or 0)
    return StreamingResponse(
        log_events(request, store, execution_id, min_level, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
