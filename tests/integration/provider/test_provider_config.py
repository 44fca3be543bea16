"""The provider block: endpoint and token from the block or the environment, checked early."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import requests

from controlplane.client import WeirClient
from tests.integration.provider.harness import Terraform, by_terraform

NOT_INHERITED = ("weir_url", "no_proxy", "http_proxy", "https_proxy", "all_proxy")

FLOW = """
resource "weir_flow" "hello" {
  content = "id: hello\\nnamespace: company.config\\ntasks:\\n  - id: log\\n    type: io.kestra.plugin.core.log.Log\\n    message: hi\\n"
}
"""


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_bad_endpoint_or_timeout_fails_validation_on_its_attribute(terraform: Terraform) -> None:
    terraform.write('provider "weir" {\n  endpoint = "ftp://weir"\n  timeout = 0\n}\n' + FLOW)
    terraform.init()
    error = terraform.failing("validate")
    assert "endpoint must be an http:// or https:// URL" in error
    assert "timeout must be at least 1" in error


def test_without_an_endpoint_anywhere_it_talks_to_the_local_default(
    terraform: Terraform, weir: WeirClient
) -> None:
    """No endpoint and no WEIR_URL: the provider calls http://127.0.0.1:8080, seen here through
    an HTTP proxy that records the URLs asked for and hands them to the test's server."""
    terraform.write('provider "weir" {}\n' + FLOW)
    terraform.init()
    with recording_proxy(weir.url) as (proxy, asked):
        env = {k: v for k, v in terraform.env.items() if k.lower() not in NOT_INHERITED}
        terraform.env = {**env, "HTTP_PROXY": proxy, "http_proxy": proxy}
        terraform.apply()
    assert by_terraform(weir.flows.get("company.config", "hello").managed_by)
    assert asked and all(url.startswith("http://127.0.0.1:8080/api/v1/") for url in asked)


def test_an_unreachable_server_is_named_in_the_error(terraform: Terraform) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    terraform.write(f'provider "weir" {{\n  endpoint = "{url}"\n  retries = 0\n}}\n' + FLOW)
    terraform.init()
    error = terraform.failing("plan", "-input=false")
    assert url in error and "planning weir_flow" in error


@contextmanager
def recording_proxy(target: str) -> Iterator[tuple[str, list[str]]]:
    """An HTTP proxy on a free port that records each absolute URL it is asked for and forwards
    the request to ``target`` instead."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def forward(self) -> None:
            asked.append(self.path)
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            answer = requests.request(
                self.command,
                f"{target}{parts.path}" + (f"?{parts.query}" if parts.query else ""),
                data=self.rfile.read(length) if length else None,
                headers=headers,
                timeout=30,
            )
            self.send_response(answer.status_code)
            for key, value in answer.headers.items():
                if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = do_PUT = do_DELETE = forward

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()
