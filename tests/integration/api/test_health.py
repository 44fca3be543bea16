"""Health, readiness and the Prometheus metrics of a live server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from controlplane.api import ApiSettings, create_app
from controlplane.api.auth import issue_token
from controlplane.engine.model import State
from controlplane.engine.ports import Store
from controlplane.store import StoreSettings, open_store
from tests.conftest import EngineFactory
from tests.integration.api.conftest import Api, LiveServer, serve
from tests.waiting import ended_json

SAMPLE = re.compile(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')
RETURN = "io.kestra.plugin.core.debug.Return"


def parse_metrics(text: str) -> tuple[dict[str, str], list[tuple[str, dict[str, str], float]]]:
    """The TYPE of each metric family, and every sample as (name, labels, value)."""
    types: dict[str, str] = {}
    samples = []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
        elif line.startswith("# HELP "):
            assert len(line.split(" ", 3)) == 4, line
        else:
            match = SAMPLE.match(line)
            assert match is not None, f"not a sample line: {line!r}"
            name, labels, value = match.groups()
            samples.append((name, dict(LABEL.findall(labels or "")), float(value)))
    return types, samples


def test_health_and_ready_answer(api: Api) -> None:
    assert api.get("/health").json() == {"status": "ok"}
    ready = api.get("/ready")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_metrics_count_executions_the_queue_and_task_durations(
    api: Api, live_server: LiveServer
) -> None:
    store: Store = live_server.server.config.app.state.store
    source = f"id: tick\nnamespace: health.metrics\ntasks:\n  - id: only\n    type: {RETURN}\n    format: x\n"
    with store.unit() as repos:
        repos.flows.create_flow_revision("health.metrics", "tick", source, None, {})
    started = api.post("/executions/health.metrics/tick", json={}).json()
    final = ended_json(lambda: api.get(f"/executions/{started['id']}").json())
    assert final["state"]["current"] == "SUCCESS", final

    answer = requests.get(f"{live_server.url}/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    types, samples = parse_metrics(answer.text)
    assert types == {
        "weir_executions": "gauge",
        "weir_queue_depth": "gauge",
        "weir_task_duration_seconds": "histogram",
    }
    executions = {
        labels["state"]: value for name, labels, value in samples if name == "weir_executions"
    }
    assert set(executions) == {state.value for state in State}
    assert executions["SUCCESS"] >= 1
    (depth,) = [value for name, _, value in samples if name == "weir_queue_depth"]
    assert depth >= 0

    of_return = [(n, labels, v) for n, labels, v in samples if labels.get("task_type") == RETURN]
    buckets = [(labels["le"], v) for n, labels, v in of_return if n.endswith("_bucket")]
    assert buckets[-1][0] == "+Inf"
    assert [float(le) for le, _ in buckets] == sorted(float(le) for le, _ in buckets)
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)
    (count,) = [v for n, _, v in of_return if n == "weir_task_duration_seconds_count"]
    (total,) = [v for n, _, v in of_return if n == "weir_task_duration_seconds_sum"]
    assert count == buckets[-1][1] >= 1
    assert total >= 0


@pytest.fixture
def idle_server(tmp_path: Path, engine_factory: EngineFactory) -> Iterator[LiveServer]:
    """A standalone server whose engine was never started."""
    settings = StoreSettings(home=tmp_path)
    store = open_store(settings)
    engine = engine_factory.build(store, tmp_path / "work", concurrency=1)
    server = LiveServer(create_app(ApiSettings(store=settings), store=store, engine=engine))
    yield server
    server.stop()
    engine.stop(grace_seconds=0)
    store.close()


def test_a_server_whose_executor_does_not_run_is_not_ready(idle_server: LiveServer) -> None:
    api = Api(idle_server.url)
    assert api.get("/health").status_code == 200
    ready = api.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["code"] == "not_ready"
    assert "executor" in ready.json()["message"]


def test_probes_need_no_token_but_metrics_need_read(tmp_path: Path) -> None:
    server = serve(ApiSettings(store=StoreSettings(home=tmp_path), require_tokens=True))
    try:
        store: Store = server.server.config.app.state.store
        _, reader = issue_token(store, "prometheus", "read")
        _, tenant = issue_token(store, "team-a", "admin", ["team.a"])
        assert Api(server.url).get("/health").status_code == 200
        assert Api(server.url).get("/ready").status_code == 200
        assert requests.get(f"{server.url}/metrics", timeout=10).status_code == 401
        allowed = requests.get(
            f"{server.url}/metrics", headers={"Authorization": f"Bearer {reader}"}, timeout=10
        )
        assert allowed.status_code == 200
        assert "weir_queue_depth 0" in allowed.text
        # The counts are every namespace's: a token limited to namespaces does not see them.
        limited = requests.get(
            f"{server.url}/metrics", headers={"Authorization": f"Bearer {tenant}"}, timeout=10
        )
        assert limited.status_code == 403
        assert "not limited to namespaces" in limited.json()["message"]
        assert "weir_executions" not in limited.text
    finally:
        server.stop()
