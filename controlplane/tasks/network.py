"""``fs.tcp.Send`` and ``fs.udp.Send`` with Python's sockets."""

from __future__ import annotations

import base64
import binascii
import socket
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.network import TcpSend, UdpSend, _Send
from controlplane.tasks import props


def _bytes(task: _Send, ctx: RunContext) -> bytes:
    payload = props.text(ctx, task.payload)
    encoding = props.text(ctx, task.encoding)
    if encoding.upper() == "BASE64":
        try:
            return base64.b64decode(payload, validate=True)
        except binascii.Error:
            raise TaskFailed("'payload' is not valid base64 (encoding: BASE64)") from None
    try:
        return payload.encode(encoding)
    except LookupError:
        raise TaskFailed(f"'encoding' names no known charset: {encoding!r}") from None


def _address(task: _Send, ctx: RunContext) -> tuple[str, int]:
    host = props.text(ctx, task.host).strip()
    if not host:
        raise TaskFailed("`host` cannot be null or empty")
    return host, props.integer(ctx, task.port, "port")


@runs(TcpSend)
def run_tcp_send(task: TcpSend, ctx: RunContext) -> dict[str, Any]:
    host, port = _address(task, ctx)
    data = _bytes(task, ctx)
    seconds = task.timeout.total_seconds() if task.timeout is not None else 10.0
    try:
        with socket.create_connection((host, port), timeout=seconds) as connection:
            connection.sendall(data)
    except OSError as exc:
        raise TaskFailed(f"could not send to {host}:{port} over TCP: {exc}") from None
    ctx.info(f"Sent {len(data)} bytes to {host}:{port}")
    return {"host": host, "port": port, "sentBytes": len(data)}


@runs(UdpSend)
def run_udp_send(task: UdpSend, ctx: RunContext) -> dict[str, Any]:
    host, port = _address(task, ctx)
    data = _bytes(task, ctx)
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][0]
        with socket.socket(family, socket.SOCK_DGRAM) as sender:
            sender.sendto(data, (host, port))
    except OSError as exc:
        raise TaskFailed(f"could not send to {host}:{port} over UDP: {exc}") from None
    return {"sentBytes": len(data)}
