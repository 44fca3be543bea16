from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.api import ApiSettings
from controlplane.client import WeirClient
from controlplane.store import StoreSettings
from tests.integration.api.conftest import LiveServer, serve
from tests.integration.provider.harness import Terraform, offline_environment


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import controlplane.tasks  # noqa: F401

    home = tmp_path_factory.mktemp("weir-home")
    server = serve(ApiSettings(store=StoreSettings(home=home), worker_threads=2))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tf_env(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return offline_environment(tmp_path_factory.mktemp("terraform"), live_server.url)


@pytest.fixture
def terraform(tf_env: dict[str, str], tmp_path: Path) -> Terraform:
    return Terraform(tmp_path / "config", tf_env)


@pytest.fixture
def weir(live_server: LiveServer) -> Iterator[WeirClient]:
    """A client of the same server, as someone changing things outside Terraform."""
    with WeirClient(live_server.url, retries=0) as client:
        yield client
