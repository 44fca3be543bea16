"""docker.Build, docker.Tag and docker.Push against a double of the Docker engine API on a unix
socket (``/_ping``, ``POST /build`` with the context as a tar archive, ``POST
/images/{name}/tag``, ``POST /images/{name}/push``; the images it has are those built and
tagged), and docker.Run failing clearly when no engine answers."""

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
    images: ClassVar[dict[str, str]] = {}
    """Image id by reference (``name:tag``, and the id itself)."""

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
            self.images["sha256:4b1d2c"] = "sha256:4b1d2c"
            self.images.update({_reference(t): "sha256:4b1d2c" for t in query.get("t", [])})
            self._stream([{"stream": "Step 1/2 : FROM python:3.13-slim\n"},
                          {"aux": {"ID": "sha256:4b1d2c"}},
                          {"stream": "Successfully built 4b1d2c\n"}])  # fmt: skip
        elif url.path.startswith("/images/") and url.path.endswith("/push"):
            name = urllib.parse.unquote(url.path[len("/images/") : -len("/push")])
            if f"{name}:{query['tag'][0]}" not in self.images:
                self._reply(404, b'{"message":"No such image: %s"}' % name.encode())
                return
            auth = json.loads(base64.urlsafe_b64decode(self.headers["X-Registry-Auth"]))
            self.pushes.append({"name": name, "tag": query["tag"][0], "auth": auth})
            self._stream([{"status": "Pushed"}])
        elif url.path.startswith("/images/") and url.path.endswith("/tag"):
            source = urllib.parse.unquote(url.path[len("/images/") : -len("/tag")])
            image = self.images.get(source) or self.images.get(_reference(source))
            if image is None:
                self._reply(404, b'{"message":"No such image: %s"}' % source.encode())
                return
            self.images[f"{query['repo'][0]}:{query['tag'][0]}"] = image
            self._reply(201, b"")
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


def _reference(name: str) -> str:
    """``name`` with its tag (``latest`` when it has none)."""
    return name if name.rfind(":") > name.rfind("/") else f"{name}:latest"


class _UnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[str]:
    _Engine.builds.clear()
    _Engine.pushes.clear()
    _Engine.images.clear()
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


# The shape of kestra-io/blueprints' docker-digest-promotion flow (without its approval pause).
PROMOTION = """
id: docker-digest-promotion
namespace: company.team
inputs:
  - id: staging_tag
    type: STRING
    defaults: ghcr.io/my-org/my-app:staging
  - id: production_tag
    type: STRING
    defaults: ghcr.io/my-org/my-app:1.0.0
pluginDefaults:
  - type: io.kestra.plugin.docker
    values:
      host: {host}
tasks:
  - id: build
    type: io.kestra.plugin.docker.Build
    dockerfile: |
      FROM nginx:1.27-alpine
    tags:
      - "{{{{ inputs.staging_tag }}}}"
    push: false
  - id: tag_production
    type: io.kestra.plugin.docker.Tag
    sourceImage: "{{{{ outputs.build.imageId }}}}"
    targetImage: "{{{{ inputs.production_tag }}}}"
  - id: tag_latest
    type: io.kestra.plugin.docker.cli.Tag
    sourceImage: "{{{{ inputs.staging_tag }}}}"
    targetImage: registry.local:5000/my-app
  - id: push_production
    type: io.kestra.plugin.docker.Push
    tags:
      - "{{{{ inputs.production_tag }}}}"
      - https://registry.local:5000/my-app:latest
    credentials:
      registry: ghcr.io
      username: my-org
      password: "{{{{ secret('REGISTRY_PASSWORD') }}}}"
"""


def test_tag_and_push_promote_the_built_image(flows: Flows, engine: str) -> None:
    with flows.store.unit() as repos:
        repos.secrets.update_secret("company.team", "REGISTRY_PASSWORD", "ghp_push_token")
    final = flows.run(PROMOTION.format(host=engine))
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert _Engine.images["ghcr.io/my-org/my-app:1.0.0"] == "sha256:4b1d2c"
    assert _Engine.images["registry.local:5000/my-app:latest"] == "sha256:4b1d2c"
    assert [(p["name"], p["tag"]) for p in _Engine.pushes] == [
        ("ghcr.io/my-org/my-app", "1.0.0"),
        ("registry.local:5000/my-app", "latest"),
    ]
    assert _Engine.pushes[0]["auth"] == {"username": "my-org", "password": "ghp_push_token",
                                         "serveraddress": "ghcr.io"}  # fmt: skip
    assert "Tagging image sha256:4b1d2c as ghcr.io/my-org/my-app:1.0.0" in flows.logs(final)
    assert not any("ghp_push_token" in line for line in flows.logs(final))


def test_tagging_an_image_the_engine_does_not_have_fails(flows: Flows, engine: str) -> None:
    final = flows.run(
        "id: docker-tag\nnamespace: company.team\ntasks:\n"
        "  - id: tag\n    type: io.kestra.plugin.docker.Tag\n    sourceImage: nowhere:1\n"
        f"    targetImage: acme/app:2\n    host: {engine}\n"
    )
    assert final.state is State.FAILED
    assert any(
        "the Docker engine answered 404 to /images/nowhere%3A1/tag: "
        '{"message":"No such image: nowhere:1"}' in line
        for line in flows.logs(final)
    )


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
