"""The Docker task runner asks the engine for itself before running anything (Docker's
``GET /_ping``), over a unix socket or TCP."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from controlplane.tasks.docker_runner import engine_problem


class _Engine(BaseHTTPRequestHandler):
    """Answers the ping as the Docker engine API does."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def address_string(self) -> str:
        return "docker"

    def do_GET(self) -> None:
        body = b"OK" if self.path == "/_ping" else b'{"message":"page not found"}'
        self.send_response(200 if self.path == "/_ping" else 404)
        self.send_header("Api-Version", "1.45")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _UnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


@pytest.fixture
def engine_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "docker.sock"
    server = _UnixServer(str(path), _Engine)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield path
    server.shutdown()
    server.server_close()


def test_an_engine_that_answers_the_ping_is_found(engine_socket: Path) -> None:
    assert engine_problem(f"unix://{engine_socket}") is None


def test_a_missing_socket_is_named_as_the_reason(tmp_path: Path) -> None:
    problem = engine_problem(f"unix://{tmp_path / 'absent.sock'}")
    assert problem == "No such file or directory"


def test_a_host_that_is_not_a_docker_address_is_refused() -> None:
    assert engine_problem("ftp://example") == (
        "'ftp://example' is not a Docker host (unix:///path or tcp://host:port)"
    )
