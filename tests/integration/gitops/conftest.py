"""A live Weir server on 127.0.0.1 per module, and desired-state repositories in real git."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.api import ApiSettings
from controlplane.client import WeirClient
from controlplane.store import StoreSettings
from tests.integration.api.conftest import LiveServer, serve


class Repo:
    """A git work tree holding a desired-state source."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "ci@example.com")
        self.git("config", "user.name", "CI")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.root, check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def flow(self, namespace: str, flow_id: str, message: str = "hello", **extra: str) -> str:
        """Write a Log flow; ``extra`` lines are appended as they are."""
        text = (
            f"id: {flow_id}\nnamespace: {namespace}\n"
            f"tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n"
            f"    message: {message}\n"
        )
        text += "".join(extra.values())
        self.write(f"namespaces/{namespace}/flows/{flow_id}.yaml", text)
        return text

    def remove(self, relative: str) -> None:
        self.git("rm", "-qf", relative)

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import controlplane.tasks  # noqa: F401

    home = tmp_path_factory.mktemp("weir-home")
    server = serve(ApiSettings(store=StoreSettings(home=home), worker_threads=1))
    yield server
    server.stop()


@pytest.fixture
def weir(live_server: LiveServer) -> Iterator[WeirClient]:
    """A client of the server, as a person using the API."""
    with WeirClient(live_server.url, retries=0) as client:
        yield client


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "source")
