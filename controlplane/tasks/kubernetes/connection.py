"""Which API server a Kubernetes task or runner talks to, and as whom.

In order: the task's ``connection`` (the runner's ``config``) when it names a ``masterUrl``; the
service account of the Pod Weir runs in (``KUBERNETES_SERVICE_HOST`` and the mounted token, i.e.
``load_incluster_config``); the kubeconfig (``KUBECONFIG``, else ``~/.kube/config``). Certificates
given as data are written to a private folder for the life of the client, since the client reads
them from files.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kubernetes import config as kube_config
from kubernetes.client import ApiClient, Configuration
from kubernetes.config.config_exception import ConfigException

from controlplane.engine.runnable import RunContext, TaskFailed
from controlplane.spec.plugins.kubernetes import Connection
from controlplane.tasks import props
from controlplane.tasks.kubernetes.api import Kube

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@contextlib.contextmanager
def connect(ctx: RunContext, connection: Connection | None) -> Iterator[tuple[Kube, str | None]]:
    """A client for the API server, and the default namespace the connection names (if any)."""
    folder = Path(tempfile.mkdtemp(prefix="weir-kube-"))
    try:
        configuration, namespace = _configuration(ctx, connection, folder)
        with ApiClient(configuration) as api:
            yield Kube(api), namespace
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _configuration(
    ctx: RunContext, connection: Connection | None, folder: Path
) -> tuple[Configuration, str | None]:
    namespace = props.optional_text(ctx, connection.namespace) if connection else None
    if connection is not None and connection.masterUrl is not None:
        return _explicit(ctx, connection, folder), namespace
    configuration = Configuration()
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            kube_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except ConfigException as exc:
            raise TaskFailed(
                f"Kubernetes in-cluster configuration is incomplete ({exc}): mount the service "
                "account token (automountServiceAccountToken) or give the task a connection"
            ) from exc
        pod_namespace = SERVICE_ACCOUNT_DIR / "namespace"
        if namespace is None and pod_namespace.exists():
            namespace = pod_namespace.read_text().strip() or None
        return configuration, namespace
    try:
        kube_config.load_kube_config(
            config_file=os.environ.get("KUBECONFIG") or None,  # read now, not at import
            client_configuration=configuration,
            persist_config=False,
        )  # type: ignore[no-untyped-call]
    except (ConfigException, OSError) as exc:
        raise TaskFailed(
            "No Kubernetes API to talk to: give the task a connection with masterUrl, run Weir in "
            f"a Pod with a service account, or provide a kubeconfig (KUBECONFIG) ({exc})"
        ) from exc
    return configuration, namespace


def _explicit(ctx: RunContext, connection: Connection, folder: Path) -> Configuration:
    configuration = Configuration()
    configuration.host = props.text(ctx, connection.masterUrl).rstrip("/")
    token = props.optional_text(ctx, connection.oauthToken)
    if token:
        configuration.api_key = {"authorization": f"Bearer {token}"}
    username = props.optional_text(ctx, connection.username)
    if username:
        configuration.username = username
        configuration.password = props.optional_text(ctx, connection.password) or ""
    configuration.ssl_ca_cert = _file(
        ctx, connection.caCertFile, connection.caCertData, folder, "ca"
    )
    configuration.cert_file = _file(
        ctx, connection.clientCertFile, connection.clientCertData, folder, "cert"
    )
    configuration.key_file = _file(
        ctx, connection.clientKeyFile, connection.clientKeyData, folder, "key"
    )
    if connection.trustCerts is not None and props.boolean(ctx, connection.trustCerts):
        configuration.verify_ssl = False
        ctx.warning(f"The certificate of {configuration.host} is not checked (trustCerts)")
    hostname_off = connection.disableHostnameVerification
    if hostname_off is not None and props.boolean(ctx, hostname_off):
        configuration.assert_hostname = False
    return configuration


def _file(
    ctx: RunContext, file: str | None, data: str | None, folder: Path, name: str
) -> str | None:
    if file is not None:
        return props.text(ctx, file)
    if data is None:
        return None
    text = "".join(props.text(ctx, data).split())
    try:
        pem = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise TaskFailed(
            f"The connection's {name} data is not base64 (as kubeconfig's *-data fields are)"
        ) from exc
    target = folder / f"{name}.pem"
    target.write_bytes(pem)
    target.chmod(stat.S_IRUSR | stat.S_IWUSR)
    return str(target)
