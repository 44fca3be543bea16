"""Fixtures of the client's tests: a live Weir server per module (``weir``, a client on it) and
a scripted fake server (``fake``) for what a real server does not do on demand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.api import ApiSettings
from controlplane.client import WeirClient
from controlplane.store import StoreSettings
from tests.integration.api.conftest import LiveServer, serve
from tests.integration.client.fake import FakeServer


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import controlplane.tasks  # noqa: F401

    home: Path = tmp_path_factory.mktemp("weir-home")
    server = serve(ApiSettings(store=StoreSettings(home=home), worker_threads=4))
    yield server
    server.stop()


@pytest.fixture
def weir(live: LiveServer) -> Iterator[WeirClient]:
    with WeirClient(live.url, retries=1, backoff=0.01) as client:
        yield client


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server: FakeServer) -> FakeServer:
    fake_server.answer()
    return fake_server
