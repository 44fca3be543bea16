"""Health, readiness and Prometheus metrics.

``/api/v1/health`` and ``/api/v1/ready`` need no token, so that probes need no secret;
``/metrics`` (at the root, where Prometheus looks) needs ``read`` when the server requires
tokens, from a token that reaches every namespace: the counts are the whole server's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel

from controlplane.api.auth import Caller
from controlplane.api.deps import EngineDep, SettingsDep, StoreDep
from controlplane.api.errors import Forbidden, body
from controlplane.engine.model import State
from controlplane.engine.stats import BUCKETS, Histogram

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])
root_router = APIRouter(tags=["health"])

PROMETHEUS_TEXT = "text/plain; version=0.0.4"


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"


@router.get("/health", summary="Whether the process serves")
async def health() -> Health:
    return Health()


@router.get(
    "/ready",
    summary="Whether the server can take work",
    responses={503: {"description": "The database does not answer, or the executor is down"}},
    response_model=Readiness,
)
def ready(store: StoreDep, engine: EngineDep, settings: SettingsDep) -> Any:
    """Ready when the database answers and, in a standalone server, the executor runs."""
    try:
        store.ping()
    except Exception:  # whatever the driver raises, the answer is "not ready"
        log.warning("readiness: the database does not answer", exc_info=True)
        return _not_ready("the database does not answer; see the server's log")
    if settings.role == "standalone" and not engine.running:
        return _not_ready("the executor is not running; see the server's log")
    return Readiness()


def _not_ready(message: str) -> JSONResponse:
    return JSONResponse(body("not_ready", message), status_code=503, headers={"Retry-After": "5"})


@root_router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {PROMETHEUS_TEXT: {"schema": {"type": "string"}}}}},
)
def metrics(caller: Caller, store: StoreDep, engine: EngineDep) -> PlainTextResponse:
    """Executions by state, the executor's queue depth and task attempt durations, in the
    Prometheus text format 0.0.4."""
    caller.require("read")
    if not caller.unrestricted:
        raise Forbidden(
            "/metrics counts every namespace's executions: it needs a token that is not limited "
            f"to namespaces (this one reaches {', '.join(caller.namespaces)}); create one with "
            "'weir token create NAME --scope read'",
            {"namespaces": list(caller.namespaces)},
        )
    with store.unit(read_only=True) as repos:
        counts = repos.executions.count_executions_by_state()
    lines = [
        "# HELP weir_executions Executions stored, by state.",
        "# TYPE weir_executions gauge",
        *(f'weir_executions{{state="{s.value}"}} {counts.get(s, 0)}' for s in State),
        "# HELP weir_queue_depth Events and timers waiting for this server's executor.",
        "# TYPE weir_queue_depth gauge",
        f"weir_queue_depth {engine.queue_depth}",
        "# HELP weir_task_duration_seconds How long task attempts took, by task type.",
        "# TYPE weir_task_duration_seconds histogram",
    ]
    for task_type, histogram in sorted(engine.stats.durations().items()):
        lines += _histogram(
            "weir_task_duration_seconds", f'task_type="{_escape(task_type)}"', histogram
        )
    return PlainTextResponse("\n".join(lines) + "\n", media_type=PROMETHEUS_TEXT)


def _histogram(name: str, labels: str, histogram: Histogram) -> Iterator[str]:
    for bound, count in zip(BUCKETS, histogram.counts, strict=True):
        yield f'{name}_bucket{{{labels},le="{bound}"}} {count}'
    yield f'{name}_bucket{{{labels},le="+Inf"}} {histogram.count}'
    yield f"{name}_sum{{{labels}}} {histogram.total}"
    yield f"{name}_count{{{labels}}} {histogram.count}"


def _escape(value: str) -> str:
    """A label value as the text format wants it: backslash, quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
