"""Health, readiness and Prometheus metrics.

``/api/v1/health`` and ``/api/v1/ready`` need no token, so that probes need no secret;
``/metrics`` (at the root, where Prometheus looks) needs ``read`` when the server requires
tokens, from a token that reaches every namespace: the counts are the whole server's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from pydantic import BaseModel

from controlplane.api.auth import Caller
from controlplane.api.deps import EngineDep, SettingsDep, StoreDep
from controlplane.api.errors import Forbidden, body
from controlplane.engine.model import State

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
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ServerMetrics(counts, engine.queue_depth))
    registry.register(engine.stats.collector)
    return PlainTextResponse(generate_latest(registry), media_type=PROMETHEUS_TEXT)


class _ServerMetrics:
    """The gauges read when ``/metrics`` is asked: executions by state and the queue's depth."""

    def __init__(self, counts: Mapping[State, int], queue_depth: int) -> None:
        self._counts = counts
        self._queue_depth = queue_depth

    def collect(self) -> Iterable[Metric]:
        executions = GaugeMetricFamily(
            "weir_executions", "Executions stored, by state.", labels=["state"]
        )
        for state in State:
            executions.add_metric([state.value], self._counts.get(state, 0))
        yield executions
        yield GaugeMetricFamily(
            "weir_queue_depth",
            "Events and timers waiting for this server's executor.",
            value=self._queue_depth,
        )
