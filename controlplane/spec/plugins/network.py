"""Raw network sends of Kestra's file-system plugin: ``fs.tcp.Send`` and ``fs.udp.Send``."""

from __future__ import annotations

from controlplane.spec.fields import DynInt, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec


class _Send(TaskSpec):
    host: Text
    port: DynInt
    payload: Text
    encoding: Text = "UTF-8"
    """A charset, or BASE64 for a payload given as base64 bytes."""


@task("io.kestra.plugin.fs.tcp.Send")
class TcpSend(_Send):
    """Open a TCP connection to ``host:port`` (within the task's ``timeout``, 10 seconds by
    default) and write ``payload``. Outputs ``host``, ``port`` and ``sentBytes``."""


@task("io.kestra.plugin.fs.udp.Send")
class UdpSend(_Send):
    """Send ``payload`` as one UDP datagram to ``host:port``. Output ``sentBytes``."""
