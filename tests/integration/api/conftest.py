"""A live API server on 127.0.0.1 per test module (uvicorn in a thread, a fresh SQLite store),
and ``api``, a requests session whose paths start at ``/api/v1``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn
from fastapi import FastAPI

from controlplane.api import ApiSettings, create_app
from controlplane.store import StoreSettings


class LiveServer:
    """``app`` served by uvicorn on a free loopback port until ``stop``."""

    def __init__(self, app: FastAPI) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="api-server", daemon=True)
        self.thread.start()
        for _ in range(500):
            if self.server.started or not self.thread.is_alive():
                break
            self.thread.join(0.01)
        if not self.server.started:
            raise RuntimeError("the API server did not start")
        (socket,) = self.server.servers[0].sockets
        host, port = socket.getsockname()[:2]
        self.url = f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


class Api(requests.Session):
    """A session on a live server; ``api.get("/flows/...")`` means ``/api/v1/flows/...``."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def request(  # type: ignore[override]
        self, method: str, path: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        full = path if path.startswith("http") else f"{self.url}/api/v1{path}"
        return super().request(method, full, *args, **kwargs)


def serve(settings: ApiSettings) -> LiveServer:
    return LiveServer(create_app(settings))


@pytest.fixture(scope="module")
def api_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("weir-home")


@pytest.fixture(scope="module")
def live_server(api_home: Path) -> Iterator[LiveServer]:
    import controlplane.tasks  # noqa: F401

    server = serve(ApiSettings(store=StoreSettings(home=api_home), worker_threads=4))
    yield server
    server.stop()


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[Api]:
    with Api(live_server.url) as session:
        yield session
