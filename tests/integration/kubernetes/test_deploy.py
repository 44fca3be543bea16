"""gitops/deploy against a real API server: every kustomization passes a server-side dry-run,
the Service gets a ClusterIP behind the reconciler's URL, and the ServiceAccount's RBAC allows
exactly what the Kubernetes task runner does, checked with a real bound token."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from controlplane.spec.plugins.gitops import IN_CLUSTER_SERVER
from controlplane.tasks.kubernetes.api import Kube
from tests.integration.kubernetes.incluster import ACCOUNT, bound_token
from tests.kube import KubeCluster

# One API server per xdist worker: with --dist loadgroup these all share one.
pytestmark = pytest.mark.xdist_group("kubernetes")

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "gitops" / "deploy"
NAMESPACE = "weir-system"
IN_CLUSTER_FLOW = DEPLOY / "components" / "reconciler" / "flows" / "gitops-reconcile.yaml"
KUSTOMIZATIONS = sorted(
    str(p.parent.relative_to(DEPLOY)) for p in DEPLOY.rglob("kustomization.yaml")
    if "kind: Kustomization" in p.read_text()
)  # fmt: skip


def _kubectl(cluster: KubeCluster, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(cluster.kubeconfig), *args],
        input=stdin, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"kubectl {' '.join(args)}:\n{done.stderr}"
    return done.stdout


# Applied for real: what every kustomization shares and the tests below read. Not the volume
# claim, whose access mode differs between standalone and the others and cannot change.
_REAL = ("Namespace", "ServiceAccount", "Role", "RoleBinding", "Service")


@pytest.fixture(scope="module")
def deployed(cluster: KubeCluster, kube: Kube) -> str:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(DEPLOY / "overlays" / "standalone")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    docs = [d for d in yaml.safe_load_all(rendered) if d and d["kind"] in _REAL]
    assert sorted({d["kind"] for d in docs}) == sorted(_REAL)
    _kubectl(cluster, "apply", "-f", "-", stdin=yaml.safe_dump_all(docs))
    return NAMESPACE


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_kustomization_passes_a_server_side_dry_run(
    cluster: KubeCluster, deployed: str, kustomization: str
) -> None:
    out = _kubectl(cluster, "apply", "--dry-run=server", "-k", str(DEPLOY / kustomization))
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines and all("(server dry run)" in line for line in lines), out


def test_the_service_has_a_cluster_ip_behind_the_reconcilers_url(kube: Kube, deployed: str) -> None:
    service = kube.get(f"/api/v1/namespaces/{deployed}/services/weir")
    assert service["spec"]["clusterIP"].startswith("10.")
    port = service["spec"]["ports"][0]["port"]
    name = service["metadata"]["name"]
    url = f"http://{name}.{deployed}.svc.cluster.local:{port}"
    assert url == IN_CLUSTER_SERVER  # the Reconcile task's default server
    flow = yaml.safe_load(IN_CLUSTER_FLOW.read_text())
    assert next(i for i in flow["inputs"] if i["id"] == "server")["defaults"] == url


ALLOWED = {
    ("create", "pods", ""), ("get", "pods", ""), ("list", "pods", ""), ("watch", "pods", ""),
    ("delete", "pods", ""), ("get", "pods", "log"),
    ("create", "secrets", ""), ("patch", "secrets", ""), ("delete", "secrets", ""),
}  # fmt: skip
ASKED = [
    *ALLOWED,
    ("get", "secrets", ""), ("list", "secrets", ""), ("update", "pods", ""),
    ("create", "pods", "exec"), ("create", "deployments", ""), ("create", "roles", ""),
    ("list", "configmaps", ""),
]  # fmt: skip


def test_the_service_account_may_do_exactly_what_the_task_runner_does(
    cluster: KubeCluster, kube: Kube, deployed: str
) -> None:
    token = bound_token(kube, deployed)
    as_weir = Kube(cluster.api(token))
    granted = set()
    for verb, resource, sub in ASKED:
        group = "apps" if resource == "deployments" else (
            "rbac.authorization.k8s.io" if resource == "roles" else "")  # fmt: skip
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"namespace": deployed, "verb": verb, "group": group,
                                            "resource": resource, "subresource": sub}},
        }  # fmt: skip
        answer = as_weir.request(
            "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=review
        )
        if answer["status"].get("allowed"):
            granted.add((verb, resource, sub))
    assert granted == ALLOWED
    # and elsewhere nothing: another namespace's Pods are forbidden
    with pytest.raises(Exception) as refused:
        as_weir.get("/api/v1/namespaces/default/pods")
    assert getattr(refused.value, "status", None) == 403
    assert ACCOUNT in str(refused.value)
