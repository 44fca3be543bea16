"""The provider block: endpoint and token from the block or the environment, checked early."""

from __future__ import annotations

import socket

from tests.integration.provider.harness import Terraform

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


def test_without_an_endpoint_anywhere_the_plan_says_where_to_set_it(terraform: Terraform) -> None:
    terraform.write(FLOW)
    terraform.init()
    terraform.env = {k: v for k, v in terraform.env.items() if k != "WEIR_URL"}
    error = terraform.failing("plan", "-input=false")
    assert "no Weir endpoint" in error and "WEIR_URL" in error


def test_an_unreachable_server_is_named_in_the_error(terraform: Terraform) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    terraform.write(f'provider "weir" {{\n  endpoint = "{url}"\n  retries = 0\n}}\n' + FLOW)
    terraform.init()
    error = terraform.failing("plan", "-input=false")
    assert url in error and "planning weir_flow" in error
