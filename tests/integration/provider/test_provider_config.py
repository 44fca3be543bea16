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


def test_a_validation_cut_off_by_a_broken_connection_is_repeated(terraform: Terraform) -> None:
    """POST /flows/validate only reads, so the provider repeats it like a GET when the
    connection breaks after the request was sent: the plan goes on."""
    with terraform_through_a_cut(terraform, "/api/v1/flows/validate") as asked:
        code, text = terraform.plan()
    assert code == 2 and "weir_flow.hello will be created" in text
    assert asked.count("/api/v1/flows/validate") == 2


def test_an_apply_validates_each_new_flow_once(terraform: Terraform, weir: WeirClient) -> None:
    """The apply walk plans every change again in a new provider process; the source the plan
    walk found valid moments before is not sent to the server a second time."""
    flow = FLOW.replace("hello", "once")
    terraform.write(flow)
    terraform.init()
    with recording_proxy(weir.url) as (proxy, asked):
        through_proxy = f'provider "weir" {{\n  endpoint = "{proxy}"\n}}\n'
        terraform.write(through_proxy + flow)
        terraform.apply()
        assert asked.count("/api/v1/flows/validate") == 1
        assert weir.flows.get("company.config", "once").revision == 1

        terraform.write(through_proxy + flow.replace("message: hi", "message: hello"))
        terraform.apply()
        assert asked.count("/api/v1/flows/validate") == 2
    assert weir.flows.get("company.config", "once").revision == 2


@contextmanager
def terraform_through_a_cut(terraform: Terraform, path: str) -> Iterator[list[str]]:
    """``terraform`` configured to reach its server through :func:`recording_proxy`."""
    with recording_proxy(terraform.env["WEIR_URL"], cut=path) as (proxy, asked):
        terraform.write(f'provider "weir" {{\n  endpoint = "{proxy}"\n}}\n' + FLOW)
        terraform.init()
        yield asked


@contextmanager
def recording_proxy(target: str, cut: str | None = None) -> Iterator[tuple[str, list[str]]]:
    """An HTTP proxy on a free port that records each URL it is asked for and forwards the
    request to ``target`` instead. The first request to the path ``cut`` is read whole, then
    its connection is closed with no answer."""
    asked: list[str] = []
    cuts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def forward(self) -> None:
            asked.append(self.path)
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if parts.path == cut and not cuts:
                cuts.append(self.path)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            answer = requests.request(
                self.command,
                f"{target}{parts.path}" + (f"?{parts.query}" if parts.query else ""),
                data=body,
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
