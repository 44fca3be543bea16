"""HTTP tasks against a live server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from controlplane.engine.model import State
from tests.integration.tasks.conftest import Runner

REQUEST = "io.kestra.plugin.core.http.Request"
DOWNLOAD = "io.kestra.plugin.core.http.Download"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass

    def _reply(self, code: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Multi", "one")
        self.send_header("X-Multi", "two")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/json":
            self._reply(200, b'{"a": 1}', "application/json")
        elif self.path == "/missing":
            self._reply(404, b"no such thing here")
        elif self.path == "/empty":
            self._reply(200, b"")
        elif self.path == "/file.bin":
            self._reply(200, bytes(range(256)) * 40, "application/octet-stream")
        elif self.path == "/events":
            stream = (
                b": a comment\n"
                b'data: {"message": "Hel"}\nid: 1\n\n'
                b'event: update\ndata: {"message": "lo"}\n\n'
                b"data: not json\ndata: two lines\nretry: 100\n\n"
            )
            self._reply(200, stream, "text/event-stream")
        elif self.path == "/auth":
            expected = "Basic " + base64.b64encode(b"user:pa55word").decode()
            ok = self.headers.get("Authorization") == expected
            self._reply(200 if ok else 401, b"ok" if ok else b"denied")
        else:
            self._reply(500, b"boom")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        echo = {
            "body": body.decode(),
            "contentType": self.headers.get("Content-Type"),
            "custom": self.headers.get("X-Custom"),
        }
        self._reply(201, json.dumps(echo).encode(), "application/json")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_request_returns_code_headers_and_unparsed_body(runner: Runner, server: str) -> None:
    result = runner.run({"id": "h", "type": REQUEST, "uri": f"{server}/json"})
    assert result.state is State.SUCCESS
    assert result.outputs["code"] == 200
    assert result.outputs["body"] == '{"a": 1}'
    assert result.outputs["headers"]["content-type"] == ["application/json"]
    assert result.outputs["headers"]["x-multi"] == ["one", "two"]


def test_post_sends_the_rendered_body_and_headers(runner: Runner, server: str) -> None:
    result = runner.run(
        {
            "id": "h",
            "type": REQUEST,
            "uri": f"{server}/echo",
            "method": "POST",
            "body": '{"name": "{{ inputs.who }}"}',
            "headers": {"X-Custom": "v{{ 1 + 1 }}"},
        },
        inputs={"who": "Ada"},
    )
    echo = json.loads(result.outputs["body"])
    assert result.outputs["code"] == 201
    assert echo == {"body": '{"name": "Ada"}', "contentType": "application/json", "custom": "v2"}


def test_form_data_is_url_encoded(runner: Runner, server: str) -> None:
    result = runner.run(
        {
            "id": "h",
            "type": REQUEST,
            "uri": f"{server}/echo",
            "method": "POST",
            "formData": {"a": "1", "b": "x y"},
        }
    )
    assert json.loads(result.outputs["body"])["body"] == "a=1&b=x+y"


def test_error_status_fails_with_the_code_and_an_excerpt(runner: Runner, server: str) -> None:
    result = runner.run({"id": "h", "type": REQUEST, "uri": f"{server}/missing"})
    assert result.state is State.FAILED
    assert "'404'" in (result.error or "")
    assert "no such thing here" in (result.error or "")


def test_allow_failed_returns_the_error_response(runner: Runner, server: str) -> None:
    result = runner.run(
        {"id": "h", "type": REQUEST, "uri": f"{server}/missing", "allowFailed": True}
    )
    assert result.state is State.SUCCESS
    assert result.outputs["code"] == 404


def test_basic_auth_option_is_sent(runner: Runner, server: str) -> None:
    result = runner.run(
        {
            "id": "h",
            "type": REQUEST,
            "uri": f"{server}/auth",
            "options": {"basicAuthUser": "user", "basicAuthPassword": "pa55word"},
        }
    )
    assert result.outputs["body"] == "ok"


def test_credentials_of_the_url_never_appear_in_the_error(runner: Runner, server: str) -> None:
    port = server.rsplit(":", 1)[1]
    result = runner.run(
        {"id": "h", "type": REQUEST, "uri": f"http://user:topsecret@127.0.0.1:{port}/boom"}
    )
    unreachable = runner.run(
        {
            "id": "h",
            "type": REQUEST,
            "uri": "http://user:topsecret@127.0.0.1:9/x",
            "options": {"connectTimeout": "PT2S"},
        }
    )
    for failed in (result, unreachable):
        assert failed.state is State.FAILED
        assert "topsecret" not in (failed.error or "")
        assert all("topsecret" not in m for m in runner.messages(failed))
    assert "'500'" in (result.error or "")


def test_download_stores_the_bytes_in_internal_storage(runner: Runner, server: str) -> None:
    result = runner.run({"id": "d", "type": DOWNLOAD, "uri": f"{server}/file.bin"})
    assert result.state is State.SUCCESS
    assert result.outputs["code"] == 200
    assert result.outputs["length"] == 256 * 40
    uri = result.outputs["uri"]
    assert uri.endswith("/file.bin")
    with runner.store.files.open(uri) as stream:
        assert stream.read() == bytes(range(256)) * 40


def test_download_save_as_names_the_stored_file(runner: Runner, server: str) -> None:
    # As kestra-io/blueprints beam-wordcount-direct.yaml downloads its source text.
    result = runner.run(
        {"id": "d", "type": DOWNLOAD, "uri": f"{server}/file.bin", "saveAs": "source.txt"}
    )
    assert result.state is State.SUCCESS
    assert result.outputs["uri"].endswith("/source.txt")
    with runner.store.files.open(result.outputs["uri"]) as stream:
        assert stream.read() == bytes(range(256)) * 40


def test_download_of_an_empty_body_fails_unless_allowed(runner: Runner, server: str) -> None:
    failed = runner.run({"id": "d", "type": DOWNLOAD, "uri": f"{server}/empty"})
    allowed = runner.run(
        {"id": "d", "type": DOWNLOAD, "uri": f"{server}/empty", "failOnEmptyResponse": False}
    )
    assert failed.state is State.FAILED
    assert allowed.state is State.SUCCESS
    assert allowed.outputs["length"] == 0


def test_download_of_an_error_status_fails(runner: Runner, server: str) -> None:
    result = runner.run({"id": "d", "type": DOWNLOAD, "uri": f"{server}/missing"})
    assert result.state is State.FAILED
    assert "'404'" in (result.error or "")


SSE = "io.kestra.plugin.core.http.SseRequest"


def test_sse_request_gives_each_event_with_its_data_parsed(runner: Runner, server: str) -> None:
    result = runner.run({"id": "sse", "type": SSE, "uri": f"{server}/events"})
    assert result.state is State.SUCCESS, result.error
    assert result.outputs["size"] == 3
    assert result.outputs["events"] == [
        {"id": "1", "data": {"message": "Hel"}},
        {"event": "update", "data": {"message": "lo"}},
        {"retry": 100, "data": "not json\ntwo lines"},
    ]


def test_sse_request_joins_what_its_jq_expression_picks(runner: Runner, server: str) -> None:
    task = {
        "id": "sse",
        "type": SSE,
        "uri": f"{server}/events",
        "concatJqExpression": ".data.message?",
    }
    failed = runner.run(task)
    assert failed.state is State.FAILED
    assert "gives no text" in (failed.error or "")
    result = runner.run({**task, "failedOnMissingJq": False})
    assert result.state is State.SUCCESS, result.error
    assert result.outputs["result"] == "Hello"
    assert "events" not in result.outputs
