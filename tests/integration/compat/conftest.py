"""A running engine on SQLite, and a helper that saves a flow and runs it to its end."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from moto.server import ThreadedMotoServer

from controlplane.engine.engine import Engine
from controlplane.engine.model import Execution
from controlplane.spec.validate import validate_text
from controlplane.store import SqlStore
from tests.conftest import Running
from tests.waiting import ended


class Flows:
    """Saves flows into the engine's store and runs them to their final state."""

    def __init__(self, store: SqlStore, engine: Engine) -> None:
        self.store = store
        self.engine = engine

    def save(self, source: str) -> tuple[str, str]:
        result = validate_text(source)
        assert result.ok and result.flow is not None, [str(p) for p in result.problems]
        flow = result.flow
        with self.store.unit() as repos:
            repos.flows.create_flow_revision(flow.namespace, flow.id, source, None)
        return flow.namespace, flow.id

    def run(self, source: str, inputs: Mapping[str, Any] | None = None) -> Execution:
        namespace, flow_id = self.save(source)
        execution = self.engine.create_execution(namespace, flow_id, dict(inputs or {}))
        return ended(self.engine, execution.id)

    def logs(self, execution: Execution, level: str | None = None) -> list[str]:
        with self.store.unit() as repos:
            entries = repos.logs.list_logs(execution.id)
        return [e.message for _, e in entries if level is None or e.level == level]


@pytest.fixture
def flows(running_engine: Running) -> Flows:
    return Flows(*running_engine)


class _Files(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, bytes]], str]]:
    """Serves the given files (path -> bytes) on 127.0.0.1; answers the base URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(files: dict[str, bytes]) -> str:
        handler = type("Files", (_Files,), {"files": files})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
