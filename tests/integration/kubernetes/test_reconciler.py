"""The in-cluster reconciler, as far as this machine goes: a Weir server whose process looks like
a Pod of the cluster (the ``weir`` ServiceAccount's bound token and the API server's address,
tests/integration/kubernetes/incluster.py) runs the shipped ``system/gitops-reconcile`` flow; it
applies a Git repository to Weir, and the flow it brings runs its script as a Pod through that
ServiceAccount, with the RBAC of gitops/deploy/base/rbac.yaml.

Not covered: kube-DNS (the reconciler reaches the server at 127.0.0.1, not at the Service's name)
and a real kubelet (tests/fakekubelet.py runs the Pod).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.api import ApiSettings
from controlplane.client import WeirClient
from controlplane.store import StoreSettings
from controlplane.tasks.kubernetes.api import Kube
from tests.e2e.test_gitops_in_server import commit, messages, outputs_of
from tests.fakekubelet import FakeKubelet
from tests.integration.api.conftest import serve
from tests.integration.kubernetes.incluster import mount_service_account
from tests.kube import KubeCluster
from tests.waiting import ended_through

# One API server per xdist worker: with --dist loadgroup these all share one.
pytestmark = pytest.mark.xdist_group("kubernetes")

ROOT = Path(__file__).resolve().parents[3]
TEAM = "team.k8s"

CRUNCH = f"""id: crunch
namespace: {TEAM}
tasks:
  - id: count
    type: io.kestra.plugin.scripts.python.Script
    containerImage: python:3.11-slim
    taskRunner:
      type: io.kestra.plugin.ee.kubernetes.runner.Kubernetes
    script: |
      print('::{{"outputs": {{"rows": 3}}}}::')
      print("counted in the cluster")
"""


def test_the_reconciler_applies_a_repository_whose_flow_runs_in_a_pod(
    cluster: KubeCluster,
    kube: Kube,
    kubelet: FakeKubelet,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mount_service_account(monkeypatch, tmp_path, cluster, kube, namespace)
    repo = tmp_path / "desired"
    commit(
        repo,
        {
            "weir.yaml": f"name: cluster-source\nnamespaces: [{TEAM}]\n",
            f"namespaces/{TEAM}/flows/crunch.yaml": CRUNCH,
        },
        "a flow that runs in the cluster",
    )
    server = serve(ApiSettings(store=StoreSettings(home=tmp_path / "home"), worker_threads=2))
    try:
        with WeirClient(server.url, manager=None) as weir:
            weir.flows.put((ROOT / "flows" / "system" / "gitops-reconcile.yaml").read_text())
            inputs = {"repository": str(repo), "server": server.url}
            started = weir.executions.create("system", "gitops-reconcile", inputs=inputs)
            reconciled = ended_through(weir.executions, started.id)
            assert reconciled.state == "SUCCESS", messages(weir, reconciled)
            assert outputs_of(reconciled, "reconcile")["created"] >= 1
            assert weir.flows.get(TEAM, "crunch").managed_by == "gitops:cluster-source"

            ran = ended_through(weir.executions, weir.executions.create(TEAM, "crunch").id)
            assert ran.state == "SUCCESS", messages(weir, ran)
            assert outputs_of(ran, "count")["vars"] == {"rows": 3}
            lines = messages(weir, ran)
            assert "counted in the cluster" in lines
            # the Pod went to the namespace of the ServiceAccount's mount, and is gone
            assert any(line.startswith(f"Created the Pod {namespace}/") for line in lines)
            assert kube.get(f"/api/v1/namespaces/{namespace}/pods")["items"] == []
    finally:
        server.stop()
