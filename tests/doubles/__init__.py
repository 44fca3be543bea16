"""Local stand-ins for the SaaS APIs that the remote-job tasks call.

Each double is an HTTP server on 127.0.0.1 (port 0) that answers like the service's documented
API: the same paths, methods, auth headers, request and response bodies, job states and error
shapes. A test scripts it: what the jobs end with (``outcomes``, one per job started, the last
repeating), how many status reads see a job running before it ends (``polls``), a job that never
ends (``never_finish``), answers given instead of the real one to the next trigger or status
requests (``trigger_faults`` / ``poll_faults``, e.g. a 503 or a 429 with Retry-After), and a
delay before every answer (``latency``). ``received`` keeps every request, for assertions.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


@dataclass(frozen=True)
class Received:
    """A request as the double saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None
    """A JSON value, or bytes sent as they are."""
    headers: dict[str, str] = field(default_factory=dict)


def utc_now() -> str:
    """The current time as the APIs write it: ISO-8601 with milliseconds and ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ServiceDouble:
    """The HTTP plumbing and the script shared by the doubles; ``handle`` answers a request."""

    def __init__(self) -> None:
        self.outcomes: list[str] = []
        self.polls = 2
        self.never_finish = False
        self.latency = 0.0
        self.trigger_faults: list[Reply] = []
        self.poll_faults: list[Reply] = []
        self.received: list[Received] = []
        self.lock = threading.RLock()
        self.jobs_started = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- script -----------------------------------------------------------------------------------
    def next_outcome(self) -> str:
        """The outcome of the job being started now."""
        with self.lock:
            index = min(self.jobs_started, len(self.outcomes) - 1)
            self.jobs_started += 1
            return self.outcomes[index]

    def take(self, faults: list[Reply]) -> Reply | None:
        with self.lock:
            return faults.pop(0) if faults else None

    def requests_to(self, method: str, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.method == method and r.path == path]

    # -- serving ----------------------------------------------------------------------------------
    def handle(self, request: Received) -> Reply:
        raise NotImplementedError

    def serve(self, request: Received) -> Reply:
        with self.lock:
            self.received.append(request)
        if self.latency:
            time.sleep(self.latency)
        with self.lock:
            return self.handle(request)


def _handler(double: ServiceDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw.strip() else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            split = urllib.parse.urlsplit(self.path)
            request = Received(
                method=self.command,
                path=split.path,
                query=urllib.parse.parse_qs(split.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            reply = double.serve(request)
            data = (
                reply.body
                if isinstance(reply.body, bytes)
                else json.dumps(reply.body).encode()
                if reply.body is not None
                else b""
            )
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    return Handler
