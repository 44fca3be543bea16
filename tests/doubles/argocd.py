"""Argo CD's API server, its REST API (``/api/v1``, the gRPC gateway the CLI and UI use).

``GET /api/v1/applications/{name}`` answers the Application (``metadata``, ``spec``, ``status``
with ``sync``, ``health``, ``resources``, ``conditions``, ``operationState``); ``?refresh=normal``
asks for a comparison with the cluster first. ``POST /api/v1/applications/{name}/sync`` with an
``ApplicationSyncRequest`` (``revision``, ``prune``, ``dryRun``, ``strategy``) sets the
Application's ``operation`` and answers the Application; while one is set, another sync is
refused (``400``, "another operation is already in progress"). The application controller
then runs it: the next status read finds ``operationState.phase`` ``Running``, and after
``polls`` reads the phase is the scripted outcome (``Succeeded``, ``Failed``, ``Error``) with
``finishedAt`` and a ``syncResult``, and ``operation`` is cleared. Errors are grpc-gateway's
``{"error", "code", "message"}``: 404 with code 5 for an unknown application, 401 with code 16
without the bearer token.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.doubles import Received, Reply, ServiceDouble, utc_now

HEAD = "53e28ff20cc530b9ada2173fbbd64d48338583ba"


def _error(status: int, code: int, message: str) -> Reply:
    return Reply(status, {"error": message, "code": code, "message": message})


class ArgoCDDouble(ServiceDouble):
    def __init__(self, *, token: str = "argocd-token", apps: tuple[str, ...] = ("guestbook",)):
        super().__init__()
        self.outcomes = ["Succeeded"]
        self.token = token
        self.apps: dict[str, dict[str, Any]] = {name: _application(name) for name in apps}
        self.syncs: list[dict[str, Any]] = []
        self.refreshes = 0
        self._reads: dict[str, int] = {}
        self._running: dict[str, str] = {}

    def handle(self, request: Received) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, 16, "invalid session: token signature is invalid")
        parts = request.path.strip("/").split("/")
        if parts[:3] != ["api", "v1", "applications"] or len(parts) not in (4, 5):
            return _error(404, 5, f"Not Found: {request.path}")
        app = self.apps.get(parts[3])
        if app is None:
            return _error(404, 5, f'applications.argoproj.io "{parts[3]}" not found')
        if len(parts) == 5 and parts[4] == "sync" and request.method == "POST":
            return self.take(self.trigger_faults) or self._sync(app, request.body or {})
        if len(parts) == 4 and request.method == "GET":
            if (request.query.get("refresh") or [""])[0] in ("normal", "hard"):
                self.refreshes += 1
            return self.take(self.poll_faults) or Reply(200, self._read(app))
        return _error(404, 5, f"Not Found: {request.path}")

    def _sync(self, app: dict[str, Any], body: dict[str, Any]) -> Reply:
        name = app["metadata"]["name"]
        if app.get("operation") or name in self._running:
            return _error(400, 9, "another operation is already in progress")
        self.syncs.append(body)
        app["operation"] = {
            "initiatedBy": {"username": "admin"},
            "sync": {
                "revision": body.get("revision") or HEAD,
                "prune": bool(body.get("prune")),
                "dryRun": bool(body.get("dryRun")),
                "syncStrategy": body.get("strategy") or {"hook": {}},
            },
        }
        self._reads[name] = 0
        self._running[name] = self.next_outcome()
        return Reply(200, copy.deepcopy(app))

    def _read(self, app: dict[str, Any]) -> dict[str, Any]:
        name = app["metadata"]["name"]
        if name in self._running:
            self._reads[name] += 1
            self._advance(app, self._reads[name])
        return copy.deepcopy(app)

    def _advance(self, app: dict[str, Any], reads: int) -> None:
        """The controller's work: pick the operation up, then end it after ``polls`` reads."""
        status = app["status"]
        if reads == 1:
            status["operationState"] = {
                "operation": app["operation"],
                "phase": "Running",
                "message": "one or more tasks are running",
                "startedAt": utc_now(),
            }
        if self.never_finish or reads <= self.polls:
            return
        name = app["metadata"]["name"]
        outcome = self._running.pop(name)
        app.pop("operation")
        state = status["operationState"]
        sync = state["operation"]["sync"]
        state.update(phase=outcome, finishedAt=utc_now())
        if outcome == "Succeeded":
            state["message"] = "successfully synced (all tasks run)"
            status["sync"] = {"status": "Synced", "revision": _resolve(sync["revision"])}
            status["health"] = {"status": "Healthy"}
            for resource in status["resources"]:
                resource.update(status="Synced", health={"status": "Healthy"})
        else:
            state["message"] = "one or more objects failed to apply: Deployment is invalid"
            status["health"] = {"status": "Degraded"}
        state["syncResult"] = {
            "revision": _resolve(sync["revision"]),
            "resources": [
                {"kind": r["kind"], "name": r["name"], "namespace": r["namespace"],
                 "status": "Synced" if outcome == "Succeeded" else "SyncFailed",
                 "message": "deployment.apps/guestbook-ui configured"}
                for r in status["resources"]
            ],
        }  # fmt: skip


def _resolve(revision: str) -> str:
    """The commit a revision names in the repository (HEAD, a branch, or a commit)."""
    return HEAD if revision in ("HEAD", "master", "main") else revision


def _application(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": "https://github.com/argoproj/argocd-example-apps.git",
                "targetRevision": "HEAD",
                "path": "guestbook",
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"},
            "syncPolicy": {},
        },
        "status": {
            "sync": {"status": "OutOfSync", "revision": HEAD},
            "health": {"status": "Missing"},
            "resources": [
                {"version": "v1", "kind": "Service", "namespace": "default",
                 "name": "guestbook-ui", "status": "OutOfSync", "health": {"status": "Missing"}},
                {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "default",
                 "name": "guestbook-ui", "status": "OutOfSync", "health": {"status": "Missing"}},
            ],
            "conditions": [],
        },
    }  # fmt: skip
