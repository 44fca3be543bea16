"""Serving a provider the way Terraform starts plugins (HashiCorp's go-plugin handshake).

Terraform runs the plugin with a magic cookie in the environment and reads one line from its
stdout: ``1|6|unix|<socket>|grpc|<certificate>``, meaning go-plugin protocol 1, plugin protocol
6, a gRPC server on a unix socket, and the server's TLS certificate (DER, base64 without
padding). The certificate is kept for a few hours in a private directory and shared by the
starts (see :mod:`~controlplane.provider.runtime.certificate`); the socket lives in a private
temporary directory. Terraform then calls the provider service, and ends the plugin through
go-plugin's controller service (``Shutdown``).

The plugin's stderr is Terraform's log: each record is written as one JSON line in go-hclog's
shape (``@level``, ``@message``, ``@module``), so ``TF_LOG_PROVIDER=DEBUG`` shows it with levels.
"""

from __future__ import annotations

import base64
import datetime
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import grpc

from controlplane.provider.gen import grpc_controller_pb2 as controller_pb
from controlplane.provider.gen import grpc_controller_pb2_grpc as controller_grpc
from controlplane.provider.gen import tfplugin6_pb2_grpc as pb_grpc
from controlplane.provider.runtime.certificate import certificate, der
from controlplane.provider.runtime.service import Provider, ProviderService

MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
PROTOCOL_VERSION = 6
# Terraform runs up to ten operations at once (-parallelism=10).
WORKERS = 10
_MESSAGE_LIMIT = 256 * 1024 * 1024

log = logging.getLogger("weir.provider")


class _Controller:
    def __init__(self, stopped: threading.Event) -> None:
        self._stopped = stopped

    def Shutdown(self, request: Any, context: Any) -> controller_pb.Empty:
        self._stopped.set()
        return controller_pb.Empty()


def serve(provider: Provider, name: str) -> int:
    """Serve ``provider`` until Terraform shuts it down; the process's exit code."""
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        sys.stderr.write(
            f"{name} is a Terraform provider plugin: Terraform starts it. Install it with "
            "`weir terraform install` and run `terraform init`.\n"
        )
        return 1
    offered = os.environ.get("PLUGIN_PROTOCOL_VERSIONS", str(PROTOCOL_VERSION)).split(",")
    if str(PROTOCOL_VERSION) not in offered:
        sys.stderr.write(
            f"{name} speaks plugin protocol {PROTOCOL_VERSION}; this Terraform offers "
            f"{', '.join(offered)}. Use Terraform 1.0 or newer.\n"
        )
        return 1
    _log_to_stderr()
    # Ctrl-C reaches the whole process group; Terraform asks the provider to stop on its own
    # (StopProvider), and an apply interrupted here would lose what it created.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    stopped = threading.Event()
    server = grpc.server(
        ThreadPoolExecutor(max_workers=WORKERS),
        options=[
            ("grpc.max_receive_message_length", _MESSAGE_LIMIT),
            ("grpc.max_send_message_length", _MESSAGE_LIMIT),
        ],
    )
    pb_grpc.add_ProviderServicer_to_server(ProviderService(provider), server)
    controller_grpc.add_GRPCControllerServicer_to_server(_Controller(stopped), server)
    directory = tempfile.mkdtemp(prefix="weir-provider-")
    socket_path = os.path.join(directory, "plugin.sock")
    try:
        if os.environ.get("PLUGIN_CLIENT_CERT"):
            pem, key = certificate()
            credentials = grpc.ssl_server_credentials([(key, pem)])
            server.add_secure_port(f"unix://{socket_path}", credentials)
            offer = base64.b64encode(der(pem)).decode().rstrip("=")
        else:  # TF_DISABLE_PLUGIN_TLS: Terraform sent no certificate and expects none
            server.add_insecure_port(f"unix://{socket_path}")
            offer = ""
        server.start()
        sys.stdout.write(f"1|{PROTOCOL_VERSION}|unix|{socket_path}|grpc|{offer}\n")
        sys.stdout.flush()
        stopped.wait()
        server.stop(grace=2).wait()
        provider.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


class _HclogFormatter(logging.Formatter):
    _LEVELS: ClassVar[dict[int, str]] = {
        logging.DEBUG: "debug",
        logging.INFO: "info",
        logging.WARNING: "warn",
        logging.ERROR: "error",
        logging.CRITICAL: "error",
    }

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        return json.dumps(
            {
                "@level": self._LEVELS.get(record.levelno, "info"),
                "@message": message,
                "@module": record.name,
                "@timestamp": datetime.datetime.fromtimestamp(record.created, datetime.UTC)
                .isoformat()
                .replace("+00:00", "Z"),
            }
        )


def _log_to_stderr() -> None:
    level = (os.environ.get("TF_LOG_PROVIDER") or os.environ.get("TF_LOG") or "WARN").upper()
    levels = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO}
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_HclogFormatter())
    # The provider's own records, and the API client's (retries of failed requests).
    for name in ("weir", "controlplane"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(levels.get(level, logging.WARNING))
        logger.propagate = False
