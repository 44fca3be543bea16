"""Kestra's Kubernetes tasks (PodCreate, kubectl.Apply/Get/Delete/Restart) against a real
kube-apiserver and controller-manager; the fake kubelet runs the Pods they lead to."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from controlplane.engine.model import State
from controlplane.tasks.kubernetes.api import Kube
from tests.fakekubelet import FakeKubelet
from tests.integration.tasks.conftest import Runner
from tests.kube import ADMIN_TOKEN, KubeCluster, issue_cert

# One API server per xdist worker: with --dist loadgroup these all share one.
pytestmark = pytest.mark.xdist_group("kubernetes")

K8S = "io.kestra.plugin.kubernetes"

MANIFESTS = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
"""


def _run(runner: Runner, task: dict[str, Any]) -> Any:
    result = runner.run(task)
    assert result.state is State.SUCCESS, runner.messages(result)
    return result.outputs


def test_apply_get_restart_delete_a_deployment(
    runner: Runner, kubelet: FakeKubelet, kube: Kube, namespace: str, connection: dict[str, Any]
) -> None:
    common = {"connection": connection, "namespace": namespace}
    applied = _run(
        runner,
        {
            "id": "apply",
            "type": f"{K8S}.kubectl.Apply",
            "spec": MANIFESTS,
            "waitUntilReady": "PT60S",
            **common,
        },
    )
    assert [m["name"] for m in applied["metadata"]] == ["settings", "web"]
    assert applied["metadata"][1]["namespace"] == namespace
    # applied again, unchanged: server-side apply keeps the object (same uid)
    again = _run(
        runner, {"id": "apply", "type": f"{K8S}.kubectl.Apply", "spec": MANIFESTS, **common}
    )
    assert again["metadata"][1]["uid"] == applied["metadata"][1]["uid"]

    one = _run(
        runner,
        {"id": "get", "type": f"{K8S}.kubectl.Get", "resourceType": "Deployment",
         "resourcesNames": ["web"], "fetchType": "FETCH_ONE", **common},
    )  # fmt: skip
    assert one["metadataItem"]["name"] == "web"
    assert one["statusItem"]["status"]["readyReplicas"] == 1
    assert one["size"] == 1
    pods = _run(
        runner,
        {
            "id": "get",
            "type": f"{K8S}.kubectl.Get",
            "resourceType": "pods",
            "fetchType": "FETCH",
            **common,
        },
    )
    assert pods["size"] == 1 and pods["metadataItems"][0]["labels"]["app"] == "web"
    stored = _run(
        runner,
        {
            "id": "get",
            "type": f"{K8S}.kubectl.Get",
            "resourceType": "configmaps",
            "fetchType": "STORE",
            **common,
        },
    )
    with runner.store.files.open(stored["uri"]) as stream:
        text = stream.read().decode()
    assert stored["size"] >= 1 and 'name:"settings"' in text

    patched = _run(
        runner,
        {"id": "patch", "type": f"{K8S}.kubectl.Patch", "resourceType": "configmap",
         "resourceName": "settings", "patchStrategy": "JSON_MERGE",
         "patch": '{"data": {"mode": "{{ 1 + 1 }}x"}}', **common},
    )  # fmt: skip
    assert patched["metadata"]["name"] == "settings"
    settings = kube.get(f"/api/v1/namespaces/{namespace}/configmaps/settings")
    assert settings["data"] == {"mode": "2x"}

    _run(
        runner,
        {"id": "restart", "type": f"{K8S}.kubectl.Restart", "resourceType": "Deployment",
         "resourcesNames": ["web"], **common},
    )  # fmt: skip
    web = kube.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/web")
    assert "kubectl.kubernetes.io/restartedAt" in web["spec"]["template"]["metadata"]["annotations"]

    _run(
        runner,
        {"id": "delete", "type": f"{K8S}.kubectl.Delete", "resourceType": "deployments",
         "apiGroup": "apps", "apiVersion": "v1", "resourcesNames": ["web"], **common},
    )  # fmt: skip
    assert kube.find(f"/apis/apps/v1/namespaces/{namespace}/deployments/web") is None
    kubelet.wait_no_pods(kube, namespace)  # the ReplicaSets and Pods went with it (Background)


def test_get_of_an_unknown_type_says_what_to_give(
    runner: Runner, namespace: str, connection: dict[str, Any]
) -> None:
    result = runner.run(
        {"id": "get", "type": f"{K8S}.kubectl.Get", "resourceType": "shirts",
         "connection": connection, "namespace": namespace},
    )  # fmt: skip
    assert result.state is State.FAILED
    assert "serves no resource type 'shirts'" in (result.error or "")


@pytest.mark.parametrize("name", [f"{K8S}.core.PodCreate", f"{K8S}.PodCreate"])
def test_pod_create_with_files_and_outputs(
    runner: Runner,
    kubelet: FakeKubelet,
    kube: Kube,
    namespace: str,
    connection: dict[str, Any],
    name: str,
) -> None:
    script = (
        "import json; d = open('in.txt').read(); open('out.txt', 'w').write(d * 2); "
        "print('::' + json.dumps({'outputs': {'length': len(d)}}) + '::'); print('done')"
    )
    outputs = _run(
        runner,
        {
            "id": "pod", "type": name, "connection": connection, "namespace": namespace,
            "metadata": {"labels": {"team": "data"}},
            "spec": {"containers": [{"name": "unittest", "image": "python:3.11-slim",
                                      "command": ["python", "-c", script]}]},
            "inputFiles": {"in.txt": "abc"},
            "outputFiles": ["out.txt"],
        },
    )  # fmt: skip
    assert outputs["vars"] == {"length": 3}
    assert outputs["metadata"]["labels"]["team"] == "data"
    assert outputs["status"]["phase"] == "Succeeded"
    with runner.store.files.open(outputs["outputFiles"]["out.txt"]) as stream:
        assert stream.read() == b"abcabc"
    assert kube.get(f"/api/v1/namespaces/{namespace}/pods")["items"] == []


def test_get_with_the_kubeconfig(
    runner: Runner, cluster: KubeCluster, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))
    outputs = _run(
        runner,
        {"id": "get", "type": f"{K8S}.kubectl.Get", "resourceType": "serviceaccounts",
         "namespace": namespace, "fetchType": "FETCH"},
    )  # fmt: skip
    assert [m["name"] for m in outputs["metadataItems"]] == ["default"]


def test_get_with_a_client_certificate_or_trusting_any_certificate(
    runner: Runner, cluster: KubeCluster, namespace: str
) -> None:
    key, cert = issue_cert(
        cluster.pki, "cert-admin", "DNS:cert-admin", subject="/O=system:masters/CN=cert-admin"
    )
    by_certificate = {
        "masterUrl": cluster.server,
        "caCertData": base64.b64encode(cluster.ca_file.read_bytes()).decode(),
        "clientCertData": base64.b64encode(cert.read_bytes()).decode(),
        "clientKeyData": base64.b64encode(key.read_bytes()).decode(),
    }
    trusting = {"masterUrl": cluster.server, "oauthToken": ADMIN_TOKEN, "trustCerts": True}
    for connection in (by_certificate, trusting):
        outputs = _run(
            runner,
            {"id": "get", "type": f"{K8S}.kubectl.Get", "resourceType": "serviceaccounts",
             "namespace": namespace, "fetchType": "FETCH", "connection": connection},
        )  # fmt: skip
        assert outputs["size"] == 1
    anonymous = {"masterUrl": cluster.server, "trustCerts": True}
    result = runner.run(
        {"id": "get", "type": f"{K8S}.kubectl.Get", "resourceType": "serviceaccounts",
         "namespace": namespace, "connection": anonymous},
    )  # fmt: skip
    assert result.state is State.FAILED
    assert "403" in (result.error or "")
