"""A real API server (tests/kube.py) and the fake kubelet (tests/fakekubelet.py) per test
session, a namespace of its own per test, and the tasks' Runner of tests/integration/tasks."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import pytest

from controlplane.tasks.kubernetes.api import Kube
from tests.fakekubelet import FakeKubelet
from tests.integration.tasks.conftest import runner, settings, store  # noqa: F401
from tests.kube import ADMIN_TOKEN, KubeCluster, start_cluster
from tests.waiting import wait_until


@pytest.fixture(scope="session")
def cluster() -> Iterator[KubeCluster]:
    running = start_cluster()  # its time shows as this fixture's setup in --durations
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def kubelet(cluster: KubeCluster) -> Iterator[FakeKubelet]:
    fake = FakeKubelet(cluster).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="session")
def kube(cluster: KubeCluster) -> Iterator[Kube]:
    with cluster.api() as api:
        yield Kube(api)


@pytest.fixture
def namespace(kube: Kube, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace, with the default ServiceAccount the controller-manager adds."""
    name = f"t-{abs(hash(request.node.nodeid)) % 10**8}-{time.monotonic_ns() % 10**6}"
    kube.request("POST", "/api/v1/namespaces", body={"metadata": {"name": name}})
    account = f"/api/v1/namespaces/{name}/serviceaccounts/default"
    wait_until(lambda: kube.find(account), lambda found: found is not None, "the default account")
    yield name
    kube.delete(f"/api/v1/namespaces/{name}")


@pytest.fixture
def connection(cluster: KubeCluster) -> dict[str, Any]:
    """Kestra's connection block for the admin of the test cluster."""
    return {
        "masterUrl": cluster.server,
        "caCertData": base64.b64encode(cluster.ca_file.read_bytes()).decode(),
        "oauthToken": ADMIN_TOKEN,
    }
