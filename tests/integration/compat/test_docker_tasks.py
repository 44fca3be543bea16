"""docker.Build against a double of the Docker engine API on a unix socket (``/_ping``,
``POST /build`` with the context as a tar archive, ``POST /images/{name}/push``), and
docker.Run failing clearly when no engine answers."""

from __future__ import annotations

import base64
import io
import json
import socketserver
import tarfile
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest

from controlplane.engine.model import State
from tests.integration.compat.conftest import Flows


class _Engine(BaseHTTPRequestHandler):
    """Answers like the Docker engine API (v1.45): JSON messages streamed one per line."""

    builds: ClassVar[list[dict[str, Any]]] = []
    pushes: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def address_string(self) -> str:
        return "docker"

    def do_GET(self) -> None:
        if self.path == "/_ping":
            self._reply(200, b"OK")
        else:
            self._reply(404, b'{"message":"page not found"}')

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/build":
            with tarfile.open(fileobj=io.BytesIO(body)) as archive:
                files = {m.name: archive.extractfile(m).read().decode() for m in archive}  # type: ignore[union-attr]
            self.builds.append({"query": query, "files": files})
            if "FROM" not in files.get("Dockerfile", ""):
                self._stream([{"error": "the Dockerfile has no FROM instruction"}])
                return
            self._stream([{"stream": "Step 1/2 : FROM python:3.13-slim\n"},
                          {"aux": {"ID": "sha256:4b1d2c"}},
                          {"stream": "Successfully built 4b1d2c\n"}])  # fmt: skip
        elif url.path.startswith("/images/") and url.path.endswith("/push"):
            name = urllib.parse.unquote(url.path[len("/images/") : -len("/push")])
            auth = json.loads(base64.urlsafe_b64decode(self.headers["X-Registry-Auth"]))
            self.pushes.append({"name": name, "tag": query["tag"][0], "auth": auth})
            self._stream([{"status": "Pushed"}])
        else:
            self._reply(404, b'{"message":"page not found"}')

    def _stream(self, messages: list[dict[str, Any]]) -> None:
        self._reply(200, b"".join(json.dumps(m).encode() + b"\r\n" for m in messages))

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Api-Version", "1.45")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _UnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[str]:
    _Engine.builds.clear()
    _Engine.pushes.clear()
    path = tmp_path / "docker.sock"
    server = _UnixServer(str(path), _Engine)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"unix://{path}"
    server.shutdown()
    server.server_close()


# The shape of kestra-io/blueprints' docker-build-push flows.
BUILD = """
id: docker-build
namespace: company.team
tasks:
  - id: build
    type: io.kestra.plugin.docker.Build
    host: {host}
    dockerfile: |
      FROM python:3.13-slim
      COPY requirements.txt .
    inputFiles:
      requirements.txt: "pandas==2.2.3"
    tags:
      - ghcr.io/acme/etl:{{{{ execution.id }}}}
    buildArgs:
      APP_ENV: prod
    push: true
    credentials:
      registry: ghcr.io
      username: acme
      password: "{{{{ secret('GITHUB_TOKEN') }}}}"
"""


def test_build_sends_the_context_and_pushes_each_tag(flows: Flows, engine: str) -> None:
    with flows.store.unit() as repos:
        repos.secrets.update_secret("company.team", "GITHUB_TOKEN", "ghp_registry_token")
    final = flows.run(BUILD.format(host=engine))
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    (build,) = _Engine.builds
    assert build["files"]["requirements.txt"] == "pandas==2.2.3"
    assert build["query"]["t"] == [f"ghcr.io/acme/etl:{final.id}"]
    assert json.loads(build["query"]["buildargs"][0]) == {"APP_ENV": "prod"}
    assert final.task_runs[0].outputs == {"imageId": "sha256:4b1d2c"}
    (push,) = _Engine.pushes
    assert (push["name"], push["tag"]) == ("ghcr.io/acme/etl", final.id)
    assert push["auth"] == {"username": "acme", "password": "ghp_registry_token",
                            "serveraddress": "ghcr.io"}  # fmt: skip
    assert not any("ghp_registry_token" in line for line in flows.logs(final))


def test_a_build_error_fails_the_task_with_the_engine_message(flows: Flows, engine: str) -> None:
    final = flows.run(BUILD.format(host=engine).replace("FROM python:3.13-slim", "RUN true"))
    assert final.state is State.FAILED
    assert "Docker: the Dockerfile has no FROM instruction" in flows.logs(final)


def test_run_without_an_engine_fails_and_names_it(flows: Flows, tmp_path: Path) -> None:
    host = f"unix://{tmp_path / 'absent.sock'}"
    final = flows.run(
        "id: docker-run\nnamespace: company.team\ntasks:\n"
        "  - id: run\n    type: io.kestra.plugin.docker.Run\n    containerImage: ubuntu\n"
        f"    host: {host}\n    commands:\n      - echo ran\n"
    )
    assert final.state is State.FAILED
    assert any(f"no Docker engine answers at {host}" in line for line in flows.logs(final))
    assert "ran" not in flows.logs(final)
