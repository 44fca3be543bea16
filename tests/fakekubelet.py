"""A kubelet and scheduler stand-in for tests/kube.py's API server.

It registers a Node whose kubelet endpoint is an HTTPS server of its own on 127.0.0.1, binds every
unscheduled Pod to that Node, and "runs" each Pod's first container as a local process: the
Pod's volumes (emptyDir, Secret with items) become folders of its own, the container's env is
resolved from the Pod spec and the Secrets it names, and every mount path in the command, the
env and the working directory is replaced by its folder — so a file reaches the process only
through the Pod's volumes, never from the worker's own directory. The image is ignored: the
commands run with this machine's sh, find, tar, base64 and a ``python`` that is the tests'
interpreter.

The process's output is the container's log. The real API server serves it to clients at
``/api/v1/namespaces/NS/pods/NAME/log`` by proxying to this kubelet's ``/containerLogs/...``, so
the code under test reads logs exactly as on a cluster (follow included). Pod status goes
Pending -> Running -> Succeeded/Failed with the exit code in ``containerStatuses``; a deletion
with a grace period kills the process and then removes the Pod (what a kubelet confirms);
:meth:`FakeKubelet.evict` fails a running Pod with reason ``Evicted``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from controlplane.tasks.kubernetes.api import Kube, KubeError
from tests.kube import KubeCluster, issue_cert
from tests.waiting import wait_until

Obj = dict[str, Any]
NODE = "weir-fake-node"
LABELS = {"kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class _Container:
    log: Path
    process: subprocess.Popen[bytes] | None = None
    started: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    stopped: bool = False  # killed by a deletion or an eviction: no final status of its own


class FakeKubelet:
    def __init__(self, cluster: KubeCluster) -> None:
        self.cluster = cluster
        self.kube = Kube(cluster.api())
        self.folder = Path(tempfile.mkdtemp(prefix="weir-kubelet-"))
        self.containers: dict[tuple[str, str], _Container] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.cut_follow: int | None = None
        """When set, the next log follow ends after that many lines (then it is unset)."""
        self.server: ThreadingHTTPServer | None = None
        shims = self.folder / "bin"
        shims.mkdir()
        (shims / "python").symlink_to(sys.executable)
        self.path = f"{shims}{os.pathsep}{os.environ['PATH']}"

    # -- life ------------------------------------------------------------------------------------
    def start(self) -> FakeKubelet:
        key, cert = issue_cert(self.cluster.pki, "kubelet", "IP:127.0.0.1")
        handler = type("Handler", (_LogHandler,), {"kubelet": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self._register(self.server.server_address[1])
        threading.Thread(target=self._loop, daemon=True, name="fake-kubelet").start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            containers = list(self.containers.values())
        for container in containers:
            self._kill(container)
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        self.kube.api.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _register(self, port: int) -> None:
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE, "labels": LABELS}}
        self.kube.request("POST", "/api/v1/nodes", body=node)
        status = {
            "status": {
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
                "conditions": [
                    {"type": "Ready", "status": "True", "reason": "KubeletReady",
                     "lastHeartbeatTime": _now(), "lastTransitionTime": _now()}
                ],
            }
        }  # fmt: skip
        self.kube.request(
            "PATCH", f"/api/v1/nodes/{NODE}/status", body=status,
            content_type="application/merge-patch+json",
        )  # fmt: skip

    # -- the control loop ------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                listing = self.kube.get("/api/v1/pods")
                for pod in listing["items"]:
                    self._handle("ADDED", pod)
                version = listing["metadata"]["resourceVersion"]
                for kind, pod in self.kube.watch("/api/v1/pods", {"resourceVersion": version}, 5):
                    if self.stopping.is_set():
                        return
                    self._handle(kind, pod)
            except (KubeError, OSError):
                if not self.stopping.is_set():
                    time.sleep(0.2)

    def _handle(self, kind: str, pod: Obj) -> None:
        meta, spec = pod["metadata"], pod["spec"]
        key = (meta["namespace"], meta["name"])
        if kind == "DELETED":
            self._forget(key)
            return
        if meta.get("deletionTimestamp"):
            if spec.get("nodeName") == NODE:
                self._confirm_deletion(key)
            return
        if not spec.get("nodeName"):
            if (spec.get("nodeSelector") or {}).items() <= LABELS.items():
                self._bind(key)
            else:
                self._unschedulable(pod)
            return
        phase = (pod.get("status") or {}).get("phase", "Pending")
        with self.lock:
            known = key in self.containers
            if not known and phase == "Pending":
                self.containers[key] = _Container(self.folder / f"{key[0]}-{key[1]}.log")
        if not known and phase == "Pending":
            threading.Thread(target=self._run, args=(pod,), daemon=True).start()

    def _bind(self, key: tuple[str, str]) -> None:
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": key[1]},
            "target": {"apiVersion": "v1", "kind": "Node", "name": NODE},
        }
        with contextlib.suppress(KubeError):  # already bound, or gone
            self.kube.request(
                "POST", f"/api/v1/namespaces/{key[0]}/pods/{key[1]}/binding", body=binding
            )

    def _unschedulable(self, pod: Obj) -> None:
        """What the scheduler reports of a Pod no node suits."""
        conditions = (pod.get("status") or {}).get("conditions") or []
        if any(c.get("reason") == "Unschedulable" for c in conditions):
            return
        condition = {
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/1 nodes are available: 1 node(s) didn't match node selector.",
            "lastTransitionTime": _now(),
        }  # fmt: skip
        meta = pod["metadata"]
        with contextlib.suppress(KubeError):
            self.kube.request(
                "PATCH", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status",
                body={"status": {"conditions": [condition]}},
                content_type="application/strategic-merge-patch+json",
            )  # fmt: skip

    def _confirm_deletion(self, key: tuple[str, str]) -> None:
        with self.lock:
            container = self.containers.get(key)
        if container is not None:
            self._kill(container)
        with contextlib.suppress(KubeError):
            self.kube.request(
                "DELETE",
                f"/api/v1/namespaces/{key[0]}/pods/{key[1]}",
                body={"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0},
            )

    def _forget(self, key: tuple[str, str]) -> None:
        with self.lock:
            container = self.containers.pop(key, None)
        if container is not None:
            self._kill(container)

    def _kill(self, container: _Container) -> None:
        container.stopped = True
        process = container.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)  # reaped here, whoever else waits for it
        container.finished.set()

    # -- running a Pod ---------------------------------------------------------------------------
    def _run(self, pod: Obj) -> None:
        meta = pod["metadata"]
        key = (meta["namespace"], meta["name"])
        with self.lock:
            container = self.containers.get(key)
        if container is None:
            return
        try:
            command, env, cwd = self._prepare(pod)
            container.process = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            container.log.touch()
            container.started.set()  # a kubelet reports a container once it has started it
            self._status(pod, "Running", {"running": {"startedAt": _now()}})
            self._record(container, container.process)
            code = container.process.wait()
        except (KubeError, OSError, KeyError) as exc:
            container.log.write_text(f"{_stamp()} fake kubelet: {exc}\n")
            container.started.set()
            code = 128
        container.finished.set()
        if not container.stopped:
            terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                          "startedAt": _now(), "finishedAt": _now()}  # fmt: skip
            with contextlib.suppress(KubeError):
                self._status(
                    pod, "Succeeded" if code == 0 else "Failed", {"terminated": terminated}
                )

    def _record(self, container: _Container, process: subprocess.Popen[bytes]) -> None:
        """The container's output into its log file, each line with its time, as a kubelet's
        container runtime keeps it."""
        assert process.stdout is not None
        with container.log.open("ab") as log, process.stdout:
            for line in process.stdout:
                log.write(_stamp().encode() + b" " + line)
                log.flush()

    def _prepare(self, pod: Obj) -> tuple[list[str], dict[str, str], str]:
        meta, spec = pod["metadata"], pod["spec"]
        root = self.folder / f"{meta['namespace']}-{meta['name']}"
        volumes = {
            v["name"]: self._volume(meta["namespace"], root, v) for v in spec.get("volumes") or []
        }
        main = spec["containers"][0]
        mounts = {m["mountPath"]: volumes[m["name"]] for m in main.get("volumeMounts") or []}

        def local(text: str) -> str:
            for mount in sorted(mounts, key=len, reverse=True):
                text = text.replace(mount, str(mounts[mount]))
            return text

        env = {"PATH": self.path, "HOME": str(root), "HOSTNAME": meta["name"]}
        for entry in main.get("env") or []:
            env[entry["name"]] = local(self._env_value(pod, entry))
        # Without a command the image's entrypoint would run: a long-running server, say.
        parts = (
            [*main["command"], *(main.get("args") or [])]
            if main.get("command")
            else ["sleep", "3600"]
        )
        command = [local(part) for part in parts]
        cwd = local(main.get("workingDir") or str(root))
        Path(cwd).mkdir(parents=True, exist_ok=True)
        return command, env, cwd

    def _volume(self, namespace: str, root: Path, volume: Obj) -> Path:
        folder = root / "volumes" / volume["name"]
        folder.mkdir(parents=True)
        if "secret" in volume:
            secret = self.kube.get(
                f"/api/v1/namespaces/{namespace}/secrets/{volume['secret']['secretName']}"
            )
            data = secret.get("data") or {}
            items = volume["secret"].get("items") or [{"key": k, "path": k} for k in data]
            for item in items:
                target = folder / item["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(base64.b64decode(data[item["key"]]))
        return folder

    def _env_value(self, pod: Obj, entry: Obj) -> str:
        if "value" in entry:
            return str(entry["value"])
        source = entry.get("valueFrom") or {}
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            ns = pod["metadata"]["namespace"]
            secret = self.kube.get(f"/api/v1/namespaces/{ns}/secrets/{ref['name']}")
            return base64.b64decode(secret["data"][ref["key"]]).decode()
        if "fieldRef" in source:
            field_path = source["fieldRef"]["fieldPath"]
            return str(pod["metadata"].get(field_path.split(".", 1)[1], ""))
        return ""

    def _status(self, pod: Obj, phase: str, state: Obj, reason: str | None = None,
                message: str | None = None) -> None:  # fmt: skip
        meta = pod["metadata"]
        main = pod["spec"]["containers"][0]
        status: Obj = {
            "phase": phase,
            "hostIP": "127.0.0.1",
            "podIP": "10.244.0.10",
            "startTime": _now(),
            "containerStatuses": [
                {"name": main["name"], "image": main.get("image", ""), "imageID": "",
                 "ready": phase == "Running", "restartCount": 0, "state": state}
            ],
        }  # fmt: skip
        ready = "True" if phase == "Running" else "False"
        status["conditions"] = [
            {"type": "Ready", "status": ready, "lastTransitionTime": _now()},
            {"type": "ContainersReady", "status": ready, "lastTransitionTime": _now()},
        ]
        if reason:
            status.update({"reason": reason, "message": message or reason})
        self.kube.request(
            "PATCH", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status",
            body={"status": status}, content_type="application/strategic-merge-patch+json",
        )  # fmt: skip

    # -- what tests do to Pods -------------------------------------------------------------------
    def evict(self, namespace: str, name: str) -> None:
        """What a kubelet under memory pressure does: stop the Pod and fail it as Evicted."""
        with self.lock:
            container = self.containers.get((namespace, name))
        if container is not None:
            self._kill(container)
        pod = self.kube.get(f"/api/v1/namespaces/{namespace}/pods/{name}")
        terminated = {"exitCode": 137, "reason": "Error", "finishedAt": _now()}
        self._status(pod, "Failed", {"terminated": terminated}, "Evicted",
                     "The node was low on resource: memory.")  # fmt: skip

    # The waits below last while the namespace's Pods change (any status update is progress).
    def wait_running(self, namespace: str, selector: str) -> Obj:
        """The first Pod matching ``selector`` once its container runs."""
        return self.wait_for(namespace, selector, lambda p: _phase(p) == "Running")

    def wait_for(self, namespace: str, selector: str, ready: Callable[[Obj], bool]) -> Obj:
        url = f"/api/v1/namespaces/{namespace}/pods"

        def first_ready() -> Obj | None:
            for pod in self.kube.get(url, {"labelSelector": selector})["items"]:
                container = self.containers.get((namespace, pod["metadata"]["name"]))
                if ready(pod) and (container is None or container.started.is_set()):
                    return dict(pod)
            return None

        found = wait_until(
            first_ready,
            lambda pod: pod is not None,
            f"a Pod matching {selector} in {namespace}",
            progress=lambda: self.kube.get(url)["items"],
        )
        assert found is not None
        return found

    def wait_gone(self, kube: Kube, url: str) -> None:
        wait_until(lambda: kube.find(url), lambda found: found is None, f"{url} to go")

    def wait_no_pods(self, kube: Kube, namespace: str) -> None:
        pods = f"/api/v1/namespaces/{namespace}/pods"
        wait_until(lambda: kube.get(pods)["items"], lambda left: not left, f"Pods of {namespace}")


def _phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase", ""))


class _LogHandler(BaseHTTPRequestHandler):
    """``GET /containerLogs/NS/POD/CONTAINER[?follow=true]``, as the API server asks it."""

    kubelet: FakeKubelet
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "containerLogs":
            self._plain(404, "not found")
            return
        _, namespace, name, container_name = parts
        query = parse_qs(url.query)
        follow = query.get("follow", ["false"])[0] == "true"
        container = self.kubelet.containers.get((namespace, name))
        if container is None or not container.started.is_set():
            self._plain(
                400,
                f'container "{container_name}" in pod "{name}" is waiting to start: '
                "ContainerCreating",
            )
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._lines(container, follow, query)
        self._chunk(b"")

    def _lines(self, container: _Container, follow: bool, query: dict[str, list[str]]) -> None:
        """The log's lines (from ``sinceTime``, with ``timestamps`` or without) as they come;
        with :attr:`FakeKubelet.cut_follow` set, a follow ends after that many lines, as a
        dropped connection ends it."""
        stamps = query.get("timestamps", ["false"])[0] == "true"
        since = query.get("sinceTime", [""])[0].rstrip("Z")
        cut = self.kubelet.cut_follow if follow else None
        if cut is not None:
            self.kubelet.cut_follow = None
        sent, pending = 0, b""
        with container.log.open("rb") as log:
            while cut is None or sent < cut:
                done = container.finished.is_set()
                pending += log.read(65536)
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    stamp, _, text = line.partition(b" ")
                    if since and stamp.decode().rstrip("Z") < since:
                        continue
                    self._chunk((line if stamps else text) + b"\n")
                    sent += 1
                    if cut is not None and sent >= cut:
                        return
                if not lines and (done or not follow):
                    break
                if not lines:
                    time.sleep(0.02)
        if pending:  # a last line without its newline
            self._chunk(pending if stamps else pending.partition(b" ")[2])

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _plain(self, code: int, text: str) -> None:
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
