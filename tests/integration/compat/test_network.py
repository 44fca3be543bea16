"""fs.tcp.Send and fs.udp.Send to servers listening on 127.0.0.1, on the shape of
kestra-io/blueprints' ``tcp-send`` flow (host, port and payload from inputs, then an Assert)."""

from __future__ import annotations

import socket
import threading

from controlplane.engine.model import State
from tests.integration.compat.conftest import Flows


def test_payloads_reach_tcp_and_udp_servers(flows: Flows) -> None:
    received: list[bytes] = []
    with socket.socket() as server, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        tcp_port = server.getsockname()[1]
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(30)

        def accept() -> None:
            connection, _ = server.accept()
            with connection:
                chunks = []
                while chunk := connection.recv(1024):
                    chunks.append(chunk)
                received.append(b"".join(chunks))

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        final = flows.run(
            f"""
id: tcp-send
namespace: company.team
inputs:
  - id: payload
    type: STRING
    defaults: "hello over tcp"
tasks:
  - id: send_tcp
    type: io.kestra.plugin.fs.tcp.Send
    host: 127.0.0.1
    port: "{tcp_port}"
    payload: "{{{{ inputs.payload }}}}"
  - id: assert_send
    type: io.kestra.plugin.core.execution.Assert
    conditions:
      - "{{{{ outputs.send_tcp is not null }}}}"
  - id: send_udp
    type: io.kestra.plugin.fs.udp.Send
    host: 127.0.0.1
    port: {udp.getsockname()[1]}
    payload: "{{{{ 'raw bytes' | base64encode }}}}"
    encoding: BASE64
"""
        )
        thread.join(timeout=30)
        datagram, _ = udp.recvfrom(1024)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert received == [b"hello over tcp"]
    assert datagram == b"raw bytes"
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["send_tcp"] == {"host": "127.0.0.1", "port": tcp_port, "sentBytes": 14}
    assert outputs["send_udp"] == {"sentBytes": 9}


def test_a_closed_port_fails_naming_it(flows: Flows) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    final = flows.run(
        f"""
id: tcp-refused
namespace: company.team
tasks:
  - id: send_tcp
    type: io.kestra.plugin.fs.tcp.Send
    host: 127.0.0.1
    port: {port}
    payload: nobody listens
"""
    )
    assert final.state is State.FAILED
    assert any(f"could not send to 127.0.0.1:{port} over TCP" in line for line in flows.logs(final))
