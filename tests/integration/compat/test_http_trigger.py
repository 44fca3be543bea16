"""``http.Trigger`` in the polling loop, against a server on 127.0.0.1 whose answer changes: the
flow starts once ``responseCondition`` holds (Kestra's price-alert example), with the answer as
``trigger.*``, and ``stopAfter`` switches the trigger off once that execution succeeded."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from controlplane.engine.model import State
from controlplane.spec.validate import validate_text
from tests.integration.compat.conftest import Flows
from tests.integration.compat.test_polling_triggers import Polling
from tests.waiting import wait_until


class _Price(BaseHTTPRequestHandler):
    price: ClassVar[list[int]] = [120]
    asked: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.asked.append(self.path)
        body = json.dumps({"price": self.price[0]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def loop(flows: Flows) -> Iterator[Polling]:
    found = Polling(flows)
    found.loop.start()
    yield found
    found.loop.stop()


@pytest.fixture
def shop() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Price)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_trigger_fires_once_the_response_condition_holds(
    flows: Flows, loop: Polling, shop: str
) -> None:
    flows.save(f"""
id: price_alert
namespace: company.team
tasks:
  - id: price
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ json(trigger.body).price }}}} ({{{{ trigger.code }}}})"
triggers:
  - id: http
    type: io.kestra.plugin.core.http.Trigger
    uri: {shop}/products/1
    responseCondition: "{{{{ json(response.body).price <= 110 }}}}"
    interval: PT0.1S
    stopAfter: [SUCCESS]
""")
    wait_until(lambda: len(_Price.asked), lambda n: n >= 2, "two evaluations")
    assert loop.executions("price_alert") == []  # 120 is too dear
    _Price.price[0] = 100
    (fired,) = loop.fired("price_alert", "http", 1)
    assert fired.state is State.SUCCESS
    assert fired.task_runs[0].outputs == {"value": "100 (200)"}
    assert fired.trigger is not None and fired.trigger["uri"] == f"{shop}/products/1"
    wait_until(lambda: loop.state("price_alert", "http").get("stoppedBy"), bool, "stopAfter")


def test_http_trigger_refuses_an_encrypted_body() -> None:
    result = validate_text("""
id: encrypted
namespace: company.team
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hi
triggers:
  - id: http
    type: io.kestra.plugin.core.http.Trigger
    uri: http://127.0.0.1:1/
    encryptBody: true
""")
    assert not result.ok
    assert "no encrypted outputs" in " ".join(str(p) for p in result.problems)
