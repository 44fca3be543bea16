"""A Kubernetes API server of the tests' own: etcd (Debian's etcd-server), kube-apiserver and
kube-controller-manager v1.20.2 (built by scripts/build-kube.sh from Debian's kubernetes source
package), TLS and service-account keys made for the run, everything on free ports of 127.0.0.1.

The binaries are looked up in ``$WEIR_KUBE_BIN_DIR`` (default
``~/.cache/weir-tests/kube/v1.20.2/bin``). When they are missing, the tests that need them are
skipped with the command that builds them — except under ``CI=true``, where the script is run
(once, under a lock shared by the xdist workers) and a failed build fails the tests.

The controller-manager runs too: it creates every namespace's ``default`` ServiceAccount (the
ServiceAccount admission of 1.20 refuses Pods without it), garbage-collects what a deleted object
owned, and runs Deployments and Jobs. No scheduler and no kubelet run: tests/fakekubelet.py plays
both.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from kubernetes import client

from tests.waiting import Stalled, wait_until

ROOT = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = ROOT / "scripts" / "build-kube.sh"
ADMIN_TOKEN = "weir-test-admin-token"
AUDIENCE = "https://kubernetes.default.svc.cluster.local"
SERVICE_CIDR = "10.96.0.0/12"
_CONTROLLERS = (
    "*,-nodeipam,-nodelifecycle,-attachdetach,-persistentvolume-binder,-persistentvolume-expander,"
    "-pvc-protection,-pv-protection,-ttl,-bootstrapsigner,-tokencleaner,-csrsigning,-csrapproving,"
    "-csrcleaner,-route,-service,-cloud-node-lifecycle"
)


def bin_dir() -> Path:
    default = Path.home() / ".cache" / "weir-tests" / "kube" / "v1.20.2" / "bin"
    return Path(os.environ.get("WEIR_KUBE_BIN_DIR", default))


def binaries() -> tuple[Path, Path, str]:
    """kube-apiserver, kube-controller-manager and etcd; built under CI=true when missing."""
    folder = bin_dir()
    apiserver, kcm = folder / "kube-apiserver", folder / "kube-controller-manager"
    if not (apiserver.exists() and kcm.exists() and shutil.which("etcd")):
        if os.environ.get("CI") != "true":
            pytest.skip(
                f"kube-apiserver/kube-controller-manager are not in {folder} (WEIR_KUBE_BIN_DIR) or "
                f"etcd is not on PATH: run {BUILD_SCRIPT.relative_to(ROOT)} once (7 to 20 minutes; "
                "CI=true builds them instead of skipping)"
            )
        _build(folder)
    etcd = shutil.which("etcd")
    if etcd is None:
        pytest.fail("etcd is not on PATH after the build (apt-get install etcd-server)")
    return apiserver, kcm, etcd


def _build(folder: Path) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    with (folder.parent / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build for all xdist workers; the others wait
        done = subprocess.run(
            ["bash", str(BUILD_SCRIPT), str(folder)], capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        pytest.fail(
            f"{BUILD_SCRIPT.name} failed ({done.returncode}): {done.stderr[-3000:]}", pytrace=False
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def issue_cert(pki: Path, name: str, sans: str, subject: str | None = None) -> tuple[Path, Path]:
    """A key and a certificate signed by the run's CA, for ``sans`` (openssl subjectAltName);
    the API server takes a client certificate's CN as the user and its O as groups."""
    key, csr, crt, ext = (pki / f"{name}.{s}" for s in ("key", "csr", "crt", "ext"))
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject or f"/CN={name}",
        "-keyout", key, "-out", csr,
    )  # fmt: skip
    ext.write_text(f"subjectAltName={sans}\n")
    _openssl(
        "x509", "-req", "-in", csr, "-CA", pki / "ca.crt", "-CAkey", pki / "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt,
    )  # fmt: skip
    return key, crt


@dataclass
class KubeCluster:
    folder: Path
    port: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def pki(self) -> Path:
        return self.folder / "pki"

    @property
    def ca_file(self) -> Path:
        return self.pki / "ca.crt"

    @property
    def kubeconfig(self) -> Path:
        return self.folder / "admin.kubeconfig"

    def configuration(self, token: str = ADMIN_TOKEN) -> client.Configuration:
        config = client.Configuration()
        config.host = self.server
        config.ssl_ca_cert = str(self.ca_file)
        config.api_key = {"authorization": f"Bearer {token}"}
        return config

    def api(self, token: str = ADMIN_TOKEN) -> client.ApiClient:
        return client.ApiClient(self.configuration(token))

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        with (self.folder / f"{name}.log").open("wb") as out:
            process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=self.folder)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _make_pki(pki: Path) -> None:
    pki.mkdir()
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=weir-test-ca",
        "-keyout", pki / "ca.key", "-out", pki / "ca.crt",
    )  # fmt: skip
    issue_cert(
        pki,
        "apiserver",
        "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
        "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local",
    )
    _openssl("genrsa", "-out", pki / "sa.key", "2048")
    _openssl("rsa", "-in", pki / "sa.key", "-pubout", "-out", pki / "sa.pub")
    (pki / "tokens.csv").write_text(f"{ADMIN_TOKEN},admin,1,system:masters\n")


def _write_kubeconfig(cluster: KubeCluster) -> None:
    cluster.kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: local, cluster: {{server: '{cluster.server}', "
        f"certificate-authority: '{cluster.ca_file}'}}}}]\n"
        f"users: [{{name: admin, user: {{token: {ADMIN_TOKEN}}}}}]\n"
        "contexts: [{name: local, context: {cluster: local, user: admin}}]\n"
        "current-context: local\n"
    )


def _apiserver_args(cluster: KubeCluster, apiserver: Path, etcd_port: int) -> list[str]:
    pki = cluster.pki
    return [
        str(apiserver),
        f"--etcd-servers=http://127.0.0.1:{etcd_port}",
        "--bind-address=127.0.0.1",
        f"--secure-port={cluster.port}",
        "--advertise-address=127.0.0.1",
        f"--tls-cert-file={pki}/apiserver.crt",
        f"--tls-private-key-file={pki}/apiserver.key",
        f"--client-ca-file={pki}/ca.crt",
        f"--token-auth-file={pki}/tokens.csv",
        "--authorization-mode=RBAC",
        f"--service-account-issuer={AUDIENCE}",
        f"--service-account-key-file={pki}/sa.pub",
        f"--service-account-signing-key-file={pki}/sa.key",
        f"--api-audiences={AUDIENCE}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        # The fake kubelet registers its Node with this address only.
        "--kubelet-preferred-address-types=InternalIP",
        "--endpoint-reconciler-type=none",
        "--enable-priority-and-fairness=false",
    ]


def _wait_ready(cluster: KubeCluster, apiserver: subprocess.Popen[bytes]) -> None:
    """Wait while the API server's log grows, until it answers /readyz."""
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    request = urllib.request.Request(
        f"{cluster.server}/readyz", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )

    def ready() -> bool:
        if apiserver.poll() is not None:
            raise RuntimeError(f"kube-apiserver exited: {cluster.log('apiserver')}")
        with contextlib.suppress(OSError, urllib.error.HTTPError):
            return bool(urllib.request.urlopen(request, context=context, timeout=2).status == 200)
        return False

    try:
        wait_until(ready, what="kube-apiserver", progress=lambda: cluster.log("apiserver"))
    except Stalled as stalled:
        raise RuntimeError(f"{stalled}: {cluster.log('apiserver')}") from None


def _wait_default_account(cluster: KubeCluster) -> None:
    """The controller-manager is working once the default namespace has its ServiceAccount."""
    core = client.CoreV1Api(cluster.api())

    def has_token() -> bool:
        with contextlib.suppress(client.ApiException):
            return bool(core.read_namespaced_service_account("default", "default").secrets)
        return False

    try:
        wait_until(
            has_token, what="the default ServiceAccount", progress=lambda: cluster.log("kcm")
        )
    except Stalled as stalled:
        raise RuntimeError(f"{stalled}: {cluster.log('kcm')}") from None


def start_cluster() -> KubeCluster:
    apiserver, kcm, etcd = binaries()
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    cluster = KubeCluster(Path(tempfile.mkdtemp(prefix="weir-kube-", dir=base)), free_port())
    try:
        _make_pki(cluster.pki)
        _write_kubeconfig(cluster)
        etcd_port, peer_port = free_port(), free_port()
        cluster.start("etcd", [
            etcd, "--name", "t", "--data-dir", str(cluster.folder / "etcd"),
            "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-cluster", f"t=http://127.0.0.1:{peer_port}",
        ])  # fmt: skip
        _wait_ready(
            cluster, cluster.start("apiserver", _apiserver_args(cluster, apiserver, etcd_port))
        )
        cluster.start("kcm", [
            str(kcm), f"--kubeconfig={cluster.kubeconfig}",
            f"--service-account-private-key-file={cluster.pki}/sa.key",
            f"--root-ca-file={cluster.ca_file}", "--leader-elect=false",
            "--bind-address=127.0.0.1", "--secure-port=0", "--port=0",
            f"--controllers={_CONTROLLERS}",
        ])  # fmt: skip
        _wait_default_account(cluster)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@contextlib.contextmanager
def running_cluster() -> Iterator[KubeCluster]:
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
