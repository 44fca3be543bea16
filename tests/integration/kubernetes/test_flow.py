"""Whole flows through the engine whose Python script runs on the Kubernetes task runner: SUCCESS
with outputs and logs; an evicted Pod retried by the task's retry policy; a killed execution
leaves no Pod on the API server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controlplane.engine.attempt_context import WorkerSettings
from controlplane.engine.engine import Engine
from controlplane.engine.model import State
from controlplane.store import SqlStore
from controlplane.tasks.kubernetes.api import Kube
from tests.conftest import EngineFactory
from tests.fakekubelet import FakeKubelet
from tests.waiting import ended

# One API server per xdist worker: with --dist loadgroup these all share one.
pytestmark = pytest.mark.xdist_group("kubernetes")

SELECTOR = "app.kubernetes.io/managed-by=weir"


def _flow(connection: dict[str, Any], namespace: str, script: str, extra: str = "") -> str:
    runner = json.dumps({"type": "io.kestra.plugin.ee.kubernetes.runner.Kubernetes",
                         "config": connection, "namespace": namespace})  # fmt: skip
    return f"""id: pods
namespace: company.k8s
tasks:
  - id: compute
    type: io.kestra.plugin.scripts.python.Script
    containerImage: python:3.11-slim
    taskRunner: {runner}
    script: {json.dumps(script)}
{extra}
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ outputs.compute.vars.total }}}}"
"""


@pytest.fixture
def engine(tmp_path: Path, engine_factory: EngineFactory) -> Iterator[tuple[SqlStore, Engine]]:
    work = tmp_path / "work"
    settings = WorkerSettings(temp_root=work, kill_grace_seconds=2.0)
    with engine_factory.running(tmp_path / "home", work, concurrency=2, worker=settings) as found:
        yield found.store, found.engine


def _save(store: SqlStore, source: str) -> None:
    with store.unit() as repos:
        repos.flows.create_flow_revision("company.k8s", "pods", source, None)


def _messages(store: SqlStore, execution_id: str) -> list[str]:
    with store.unit() as repos:
        return [entry.message for _, entry in repos.logs.list_logs(execution_id)]


SUM = """
import json
total = sum(range(10))
print("summing in the pod")
print("::" + json.dumps({"outputs": {"total": total}}) + "::")
"""


def test_a_flow_runs_its_script_as_a_pod_and_ends_success(
    engine: tuple[SqlStore, Engine], kubelet: FakeKubelet, kube: Kube, namespace: str,
    connection: dict[str, Any],
) -> None:  # fmt: skip
    store, running = engine
    _save(store, _flow(connection, namespace, SUM))
    execution = ended(running, running.create_execution("company.k8s", "pods").id)
    assert execution.state is State.SUCCESS, _messages(store, execution.id)
    runs = {run.task_id: run for run in execution.task_runs}
    assert runs["compute"].outputs["vars"] == {"total": 45}
    assert runs["after"].outputs["value"] == "45"
    assert "summing in the pod" in _messages(store, execution.id)
    assert kube.get(f"/api/v1/namespaces/{namespace}/pods")["items"] == []


def test_an_evicted_pod_is_retried_by_the_tasks_retry_policy(
    engine: tuple[SqlStore, Engine], kubelet: FakeKubelet, kube: Kube, namespace: str,
    connection: dict[str, Any],
) -> None:  # fmt: skip
    store, running = engine
    # The first attempt runs until it is evicted (taskrun.attemptsCount counts earlier attempts).
    script = SUM.replace(
        "import json", "import json, os, time\nwhile os.environ['EARLIER'] == '0': time.sleep(0.1)"
    )
    retry = '    retry: {type: constant, interval: PT0.1S, maxAttempts: 2}\n    env: {EARLIER: "{{ taskrun.attemptsCount }}"}'
    _save(store, _flow(connection, namespace, script, retry))
    execution = running.create_execution("company.k8s", "pods")
    pod = kubelet.wait_running(namespace, f"{SELECTOR},weir.io/attempt=1")
    kubelet.evict(namespace, pod["metadata"]["name"])
    final = ended(running, execution.id)
    assert final.state is State.SUCCESS, _messages(store, execution.id)
    compute = next(run for run in final.task_runs if run.task_id == "compute")
    assert [a.state for a in compute.attempts] == [State.FAILED, State.SUCCESS]
    assert any("was evicted from its node" in m for m in _messages(store, execution.id))


def test_a_killed_execution_leaves_no_pod_behind(
    engine: tuple[SqlStore, Engine], kubelet: FakeKubelet, kube: Kube, namespace: str,
    connection: dict[str, Any],
) -> None:  # fmt: skip
    store, running = engine
    _save(store, _flow(connection, namespace, "import time\nprint('working')\ntime.sleep(300)"))
    execution = running.create_execution("company.k8s", "pods")
    kubelet.wait_running(namespace, SELECTOR)
    running.kill(execution.id)
    assert ended(running, execution.id).state is State.KILLED
    kubelet.wait_no_pods(kube, namespace)
    assert (
        kube.get(f"/api/v1/namespaces/{namespace}/secrets", {"labelSelector": SELECTOR})["items"]
        == []
    )
