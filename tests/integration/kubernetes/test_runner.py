"""Script tasks on the Kubernetes task runner, against a real kube-apiserver.

The Pod really exists on the API server, which validates it, allocates it to the fake kubelet's
Node, stores its status and proxies its log; the fake kubelet runs its container as a local
process from the Pod's own volumes and env (tests/fakekubelet.py). What is not exercised here:
pulling an image and a container runtime.
"""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import Any

import pytest

from controlplane.engine.attempt_context import AttemptContext
from controlplane.engine.attempt_functions import default_renderer
from controlplane.engine.attempt_run import run_attempt
from controlplane.engine.model import State
from controlplane.engine.process import CancelEvent
from controlplane.engine.work import AttemptResult
from controlplane.tasks.kubernetes.api import Kube
from tests.fakekubelet import FakeKubelet
from tests.integration.tasks.conftest import Runner

# One API server per xdist worker: with --dist loadgroup these all share one.
pytestmark = pytest.mark.xdist_group("kubernetes")

PYTHON = "io.kestra.plugin.scripts.python.Script"
SHELL = "io.kestra.plugin.scripts.shell.Commands"
RUNNER = "io.kestra.plugin.ee.kubernetes.runner.Kubernetes"

SCRIPT = """
import json, os
data = open("data.txt").read().strip()
print("read", data, "as", os.environ["GREETING"])
print("::" + json.dumps({"outputs": {"answer": 42, "data": data}}) + "::")
open("out.txt", "w").write(data.upper())
open(os.path.join(os.environ["OUTPUT_DIR"], "report.csv"), "w").write("a,b\\n1,2\\n")
"""


def _task(connection: dict[str, Any], namespace: str, **extra: Any) -> dict[str, Any]:
    runner = {"type": RUNNER, "config": connection, "namespace": namespace}
    runner.update(extra.pop("runner", {}))
    return {"id": "in-pod", "taskRunner": runner, "containerImage": "python:3.11-slim", **extra}


def _pods(kube: Kube, namespace: str) -> list[dict[str, Any]]:
    return list(kube.get(f"/api/v1/namespaces/{namespace}/pods")["items"])


def _stored(runner: Runner, uri: str) -> bytes:
    with runner.store.files.open(uri) as stream:
        return bytes(stream.read())


def test_python_script_runs_in_a_pod_with_files_env_outputs_and_logs(
    runner: Runner, kubelet: FakeKubelet, kube: Kube, namespace: str, connection: dict[str, Any]
) -> None:
    runner.put_secret(runner.namespace, "GREETING", "s3cr3t-hello")
    task = _task(
        connection,
        namespace,
        type=PYTHON,
        script=SCRIPT,
        inputFiles={"data.txt": "from the worker"},
        outputFiles=["out.txt"],
        env={"GREETING": "{{ secret('GREETING') }}"},
    )
    result = runner.run(task)
    assert result.state is State.SUCCESS, runner.messages(result)
    assert result.outputs["vars"] == {"answer": 42, "data": "from the worker"}
    assert result.outputs["exitCode"] == 0
    messages = runner.messages(result)
    assert "read from the worker as ********" in messages  # the secret is masked in the log
    files = result.outputs["outputFiles"]
    assert sorted(files) == ["out.txt", "report.csv"]
    assert _stored(runner, files["out.txt"]) == b"FROM THE WORKER"
    assert _stored(runner, files["report.csv"]) == b"a,b\n1,2\n"
    assert _pods(kube, namespace) == []  # deleted once done (delete: true)


def test_env_travels_in_a_secret_owned_by_the_pod(
    runner: Runner, kubelet: FakeKubelet, kube: Kube, namespace: str, connection: dict[str, Any]
) -> None:
    task = _task(
        connection,
        namespace,
        type=SHELL,
        commands=['echo "token is $TOKEN"'],
        env={"TOKEN": "hunter2"},
        runner={
            "delete": False,
            "resources": {"request": {"cpu": "100m"}, "limit": {"memory": "128Mi"}},
        },
    )
    result = runner.run(task)
    assert result.state is State.SUCCESS, runner.messages(result)
    assert "token is hunter2" in runner.messages(result)
    (pod,) = _pods(kube, namespace)
    main = pod["spec"]["containers"][0]
    assert "hunter2" not in str(pod)  # only a reference to the Secret
    token = next(e for e in main["env"] if e["name"] == "TOKEN")
    ref = token["valueFrom"]["secretKeyRef"]
    secret = kube.get(f"/api/v1/namespaces/{namespace}/secrets/{ref['name']}")
    assert base64.b64decode(secret["data"][ref["key"]]) == b"hunter2"
    assert secret["metadata"]["ownerReferences"][0]["uid"] == pod["metadata"]["uid"]
    # the API server defaults a request missing for a limit to the limit
    assert main["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"memory": "128Mi"},
    }
    assert pod["spec"]["enableServiceLinks"] is False
    assert pod["metadata"]["labels"]["weir.io/attempt"] == "1"
    # the Pod's deletion takes its Secret along (garbage collector of the controller-manager)
    kube.delete(f"/api/v1/namespaces/{namespace}/pods/{pod['metadata']['name']}")
    kubelet.wait_gone(kube, f"/api/v1/namespaces/{namespace}/secrets/{ref['name']}")


def test_a_failing_command_fails_the_attempt_with_its_exit_code(
    runner: Runner, kubelet: FakeKubelet, kube: Kube, namespace: str, connection: dict[str, Any]
) -> None:
    task = _task(connection, namespace, type=SHELL, commands=["echo before", "exit 3"])
    result = runner.run(task)
    assert result.state is State.FAILED
    assert result.outputs["exitCode"] == 3
    assert "before" in runner.messages(result)
    assert _pods(kube, namespace) == []


def _in_thread(
    runner: Runner, task: dict[str, Any], cancelled: CancelEvent | None = None, **kw: Any
) -> tuple[threading.Thread, list[AttemptResult]]:
    item = runner.item(task, **kw)
    results: list[AttemptResult] = []

    def run() -> None:
        results.append(run_attempt(item, runner.store, runner.settings, cancelled=cancelled))

    thread = threading.Thread(target=run)
    thread.start()
    return thread, results


def test_a_kill_deletes_the_pod(
    runner: Runner, kubelet: FakeKubelet, kube: Kube, namespace: str, connection: dict[str, Any]
) -> None:
    cancelled = CancelEvent()
    task = _task(connection, namespace, type=SHELL, commands=["echo started", "sleep 300"])
    thread, results = _in_thread(runner, task, cancelled)
    kubelet.wait_running(namespace, "app.kubernetes.io/managed-by=weir")
    cancelled.set()
    thread.join(60)
    assert results[0].state is State.KILLED
    kubelet.wait_no_pods(kube, namespace)


def test_a_timeout_deletes_the_pod(
    runner: Runner, kubelet: FakeKubelet, kube: Kube, namespace: str, connection: dict[str, Any]
) -> None:
    task = _task(connection, namespace, type=SHELL, commands=["sleep 300"], timeout="PT2S")
    result = runner.run(task)
    assert result.state is State.FAILED
    assert "Timeout after PT2S" in (result.error or "")
    kubelet.wait_no_pods(kube, namespace)


def test_an_evicted_pod_fails_the_attempt(
    runner: Runner, kubelet: FakeKubelet, kube: Kube, namespace: str, connection: dict[str, Any]
) -> None:
    task = _task(connection, namespace, type=SHELL, commands=["sleep 300"])
    thread, results = _in_thread(runner, task)
    pod = kubelet.wait_running(namespace, "app.kubernetes.io/managed-by=weir")
    kubelet.evict(namespace, pod["metadata"]["name"])
    thread.join(60)
    assert results[0].state is State.FAILED
    assert "was evicted from its node (The node was low on resource: memory.)" in (
        results[0].error or ""
    )
    kubelet.wait_no_pods(kube, namespace)


def test_a_pod_lost_with_its_node_fails_the_attempt(
    runner: Runner, kubelet: FakeKubelet, kube: Kube, namespace: str, connection: dict[str, Any]
) -> None:
    task = _task(connection, namespace, type=SHELL, commands=["sleep 300"])
    thread, results = _in_thread(runner, task)
    pod = kubelet.wait_running(namespace, "app.kubernetes.io/managed-by=weir")
    force = {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0}
    kube.request(
        "DELETE", f"/api/v1/namespaces/{namespace}/pods/{pod['metadata']['name']}", body=force
    )
    thread.join(60)
    assert results[0].state is State.FAILED
    assert "was deleted before it ended" in (results[0].error or "")


def test_in_cluster_config_with_a_bound_service_account_token(
    runner: Runner,
    kubelet: FakeKubelet,
    kube: Kube,
    namespace: str,
    cluster: Any,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    from tests.integration.kubernetes.incluster import mount_service_account

    mount_service_account(monkeypatch, tmp_path, cluster, kube, namespace)
    task = {
        "id": "in-pod",
        "type": SHELL,
        "commands": ["echo in-cluster"],
        "taskRunner": {"type": "io.weir.runner.Kubernetes"},
        "containerImage": "busybox",
    }
    result = runner.run(task)
    assert result.state is State.SUCCESS, runner.messages(result)
    assert "in-cluster" in runner.messages(result)
    assert any(f"Created the Pod {namespace}/" in m for m in runner.messages(result))


def test_a_pod_no_node_suits_fails_after_wait_until_running(
    runner: Runner, kubelet: FakeKubelet, kube: Kube, namespace: str, connection: dict[str, Any]
) -> None:
    runner_props = {"nodeSelector": {"gpu": "a100"}, "waitUntilRunning": "PT1S"}
    task = _task(connection, namespace, type=SHELL, commands=["true"], runner=runner_props)
    result = runner.run(task)
    assert result.state is State.FAILED
    assert (
        "did not start within PT1S (0/1 nodes are available: 1 node(s) didn't match node selector.)"
        in (result.error or "")
    )
    kubelet.wait_no_pods(kube, namespace)


def test_an_attempt_run_again_follows_its_existing_pod(
    runner: Runner, kubelet: FakeKubelet, kube: Kube, namespace: str, connection: dict[str, Any]
) -> None:
    """What a worker restarted during an attempt does (resume: true): no second Pod."""
    task = _task(
        connection, namespace, type=SHELL, commands=["echo once"], runner={"delete": False}
    )
    item = runner.item(task)
    first = run_attempt(item, runner.store, runner.settings)
    again = run_attempt(item, runner.store, runner.settings)
    assert first.state is State.SUCCESS and again.state is State.SUCCESS
    (pod,) = _pods(kube, namespace)
    assert any(
        m == f"Resuming the Pod {namespace}/{pod['metadata']['name']} of this attempt"
        for m in runner.messages(again)
    )
    assert runner.messages(again).count("once") == 2  # the Pod's log, read by both


def test_a_stored_file_named_in_the_commands_reaches_the_pod(
    runner: Runner, kubelet: FakeKubelet, namespace: str, connection: dict[str, Any]
) -> None:
    producer = runner.item({"id": "r", "type": "io.kestra.plugin.core.debug.Return"})
    ctx = AttemptContext(producer, runner.store, runner.settings, default_renderer())
    uri = ctx.put_file("rows.csv", b"a,b\n1,2\n")
    task = _task(connection, namespace, type=SHELL, commands=[f"wc -l < {uri}"])
    result = runner.run(task, execution_id=producer.execution_id)
    assert result.state is State.SUCCESS, runner.messages(result)
    assert "2" in runner.messages(result)


def test_a_pod_past_wait_until_completion_is_deleted_and_fails_the_attempt(
    runner: Runner, kubelet: FakeKubelet, kube: Kube, namespace: str, connection: dict[str, Any]
) -> None:
    runner_props = {"waitUntilCompletion": "PT1S"}
    task = _task(connection, namespace, type=SHELL, commands=["sleep 300"], runner=runner_props)
    result = runner.run(task)
    assert result.state is State.FAILED
    assert "did not end within PT1S (waitUntilCompletion); it was deleted" in (result.error or "")
    kubelet.wait_no_pods(kube, namespace)


def test_a_cut_log_stream_is_followed_again_without_losing_or_repeating_lines(
    runner: Runner, kubelet: FakeKubelet, namespace: str, connection: dict[str, Any]
) -> None:
    lines = [f"echo line-{n}" for n in range(6)]
    kubelet.cut_follow = 2  # the first follow ends after two lines, the container still runs
    task = _task(connection, namespace, type=SHELL, commands=[*lines[:3], "sleep 1", *lines[3:]])
    result = runner.run(task)
    assert result.state is State.SUCCESS, runner.messages(result)
    logged = [m for m in runner.messages(result) if m.startswith("line-")]
    assert logged == [f"line-{n}" for n in range(6)]
    assert kubelet.cut_follow is None  # the cut did happen


def test_an_archive_without_its_end_fails_the_attempt(
    runner: Runner, kubelet: FakeKubelet, namespace: str, connection: dict[str, Any]
) -> None:
    task = _task(connection, namespace, type=SHELL, commands=["echo ::weir-files::begin"])
    result = runner.run(task)
    assert result.state is State.FAILED
    assert "The output files' archive in the Pod's log has no end" in (result.error or "")
