"""A scripted HTTP server on 127.0.0.1 for the client's own behaviour: retries, errors, headers,
event streams. It answers each request with the next :class:`Answer` of its script (the last
one again when the script runs out) and records what it was sent."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Answer:
    status: int = 200
    body: Any = b""
    """Bytes as is; anything else as JSON."""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering."""
    events: list[str] | None = None
    """Server-Sent Events, sent one by one; the connection then closes."""


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class FakeServer:
    def __init__(self) -> None:
        self.script: list[Answer] = [Answer()]
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.block_on_close = False
        self._server.handle_error = lambda *_: None  # type: ignore[method-assign]
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def answer(self, *answers: Answer) -> None:
        with self._lock:
            self.script = list(answers) or [Answer()]
            self.seen = []

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, seen: Seen) -> Answer:
        with self._lock:
            self.seen.append(seen)
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def answer_request(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                url = urlsplit(self.path)
                answer = fake._next(
                    Seen(
                        method=self.command,
                        path=url.path,
                        query=parse_qs(url.query),
                        headers=dict(self.headers.items()),
                        body=self.rfile.read(length),
                    )
                )
                time.sleep(answer.delay)
                if answer.events is not None:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for event in answer.events:
                        self.wfile.write(event.encode())
                        self.wfile.flush()
                    return
                body = (
                    answer.body
                    if isinstance(answer.body, bytes)
                    else json.dumps(answer.body).encode()
                )
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if not isinstance(answer.body, bytes):
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = answer_request

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def error(code: str, message: str, **details: Any) -> dict[str, Any]:
    """The standard error body."""
    return {"code": code, "message": message, "details": details}
