"""A Pod's service-account mount, for code that runs "in the cluster": the ServiceAccount and
RBAC of gitops/deploy/base/rbac.yaml applied to a test namespace, a real bound token from the
TokenRequest API, and ``KUBERNETES_SERVICE_HOST``/``_PORT`` pointing at the test API server."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes.config import incluster_config

from controlplane.tasks.kubernetes import connection
from controlplane.tasks.kubernetes.api import Kube
from tests.kube import AUDIENCE, KubeCluster

ROOT = Path(__file__).resolve().parents[3]
RBAC = ROOT / "gitops" / "deploy" / "base" / "rbac.yaml"
ACCOUNT = "weir"

_PLURALS = {"Role": "roles", "RoleBinding": "rolebindings"}


def apply_rbac(kube: Kube, namespace: str) -> None:
    """The deploy manifests' ServiceAccount, Role and RoleBinding, in ``namespace``."""
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": ACCOUNT}}
    kube.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", body=account)
    for doc in yaml.safe_load_all(RBAC.read_text()):
        kube.request(
            "POST",
            f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/{_PLURALS[doc['kind']]}",
            body=doc,
        )


def bound_token(kube: Kube, namespace: str) -> str:
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"audiences": [AUDIENCE], "expirationSeconds": 3600},
    }
    url = f"/api/v1/namespaces/{namespace}/serviceaccounts/{ACCOUNT}/token"
    return str(kube.request("POST", url, body=request)["status"]["token"])


def mount_service_account(
    monkeypatch: pytest.MonkeyPatch, folder: Path, cluster: KubeCluster, kube: Kube, namespace: str
) -> str:
    """Make this process look like a container of a Pod of ``namespace`` running as ``weir``."""
    apply_rbac(kube, namespace)
    token = bound_token(kube, namespace)
    mount = folder / "serviceaccount"
    mount.mkdir()
    (mount / "token").write_text(token)
    (mount / "ca.crt").write_bytes(cluster.ca_file.read_bytes())
    (mount / "namespace").write_text(namespace)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(cluster.port))
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(mount / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(mount / "ca.crt"))
    monkeypatch.setattr(connection, "SERVICE_ACCOUNT_DIR", mount)
    return token
