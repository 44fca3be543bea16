"""Argo CD Application sync and status over the API server's REST API.

``Status`` reads ``GET /api/v1/applications/{name}`` (``?refresh=normal`` with ``refresh``).
``Sync`` sends ``POST /api/v1/applications/{name}/sync`` with the body ``argocd app sync``
sends (``revision``, ``prune``, ``dryRun``, a hook strategy carrying ``force``), then reads the
Application until the operation it started has ended, as the CLI waits for it: the
Application's ``operation`` is gone and its ``operationState`` is a new one in a final phase.
A phase other than ``Succeeded``, or resources left needing a prune, fail the task as the CLI
exits non-zero. Outputs keep the names of Kestra's plugin, whose CLI prints the Application as
JSON: ``rawOutput`` is that JSON, ``exitCode`` 0.

A ``server`` written with a scheme is used as written; a bare host is reached over HTTPS, or
HTTP with ``plaintext``. ``insecure`` skips the check of the server's certificate;
``serverCert`` is trusted to sign it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from controlplane.engine.runnable import RunContext, runs
from controlplane.spec.plugins.argocd import ArgoCDStatus, ArgoCDSync, _ArgoCD
from controlplane.tasks import props
from controlplane.tasks.remote import RemoteApi, positive, required, segment

_FINAL_PHASES = frozenset({"Succeeded", "Failed", "Error"})
_NO_TIMEOUT_WAIT = timedelta(hours=24)


def _api(task: _ArgoCD, ctx: RunContext) -> RemoteApi:
    token = required(ctx, task.token, "token")
    server = required(ctx, task.server, "server").rstrip("/")
    if "://" not in server:
        server = ("http://" if props.boolean(ctx, task.plaintext) else "https://") + server
    verify: bool | str = True
    if props.boolean(ctx, task.insecure):
        verify = False
    elif task.serverCert is not None:
        pem = required(ctx, task.serverCert, "serverCert")
        bundle = ctx.scratch_dir("weir-argocd-") / "server.crt"
        bundle.write_text(pem)
        verify = str(bundle)
    return RemoteApi(
        ctx,
        "Argo CD",
        server,
        headers={"Authorization": f"Bearer {token}"},
        secrets=[token],
        verify=verify,
    )


def _path(name: str) -> str:
    return f"/api/v1/applications/{segment(name)}"


@runs(ArgoCDStatus)
def run_status(task: ArgoCDStatus, ctx: RunContext) -> dict[str, Any]:
    name = required(ctx, task.application, "application")
    params = {"refresh": "normal"} if props.boolean(ctx, task.refresh) else None
    with _api(task, ctx) as api:
        app = _application(api, api.json("GET", _path(name), params=params))
    outputs = _outputs(app)
    status = app.get("status") or {}
    outputs["conditions"] = status.get("conditions")
    api.info(
        f"Argo CD status of {name} - Sync: {outputs['syncStatus']}, "
        f"Health: {outputs['healthStatus']}"
    )
    return outputs


@runs(ArgoCDSync)
def run_sync(task: ArgoCDSync, ctx: RunContext) -> dict[str, Any]:
    name = required(ctx, task.application, "application")
    prune = props.boolean(ctx, task.prune)
    body: dict[str, Any] = {
        "name": name,
        "prune": prune,
        "dryRun": props.boolean(ctx, task.dryRun),
        "strategy": {"hook": {"force": props.boolean(ctx, task.force)}},
    }
    revision = props.optional_text(ctx, task.revision)
    if revision:
        body["revision"] = revision
    every = positive(ctx, task.pollFrequency, "pollFrequency")
    with _api(task, ctx) as api:
        _application(api, api.json("POST", _path(name) + "/sync", body=body))
        api.info(
            f"Argo CD sync of {name} started" + (f" at revision {revision}" if revision else "")
        )

        # Argo CD clears the Application's operation once its controller has ended it, so
        # a final phase without an operation is the state of the one just started.
        def check() -> dict[str, Any] | None:
            app = _application(api, api.json("GET", _path(name)))
            state = (app.get("status") or {}).get("operationState") or {}
            ended = not app.get("operation") and state.get("phase") in _FINAL_PHASES
            return app if ended else None

        app = api.poll(
            check, every=every, limit=task.timeout or _NO_TIMEOUT_WAIT, what=f"sync of {name}"
        )
    outputs = _outputs(app)
    outputs["revision"] = ((app.get("status") or {}).get("sync") or {}).get("revision")
    state = app["status"]["operationState"]
    if state.get("phase") != "Succeeded":
        message = state.get("message")
        raise api.fail(
            f"Argo CD sync of {name} completed with phase {state.get('phase')}"
            + (f": {message}" if message else ""),
            outputs,
        )
    pending = _pruning_required(state)
    if pending and not prune:
        raise api.fail(f"{pending} resource(s) of {name} require pruning", outputs)
    api.info(
        f"Argo CD sync of {name} completed - Status: {outputs['syncStatus']}, "
        f"Health: {outputs['healthStatus']}"
    )
    return outputs


def _application(api: RemoteApi, answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise api.fail("Argo CD answered without an Application")
    return answer


def _pruning_required(state: dict[str, Any]) -> int:
    resources = (state.get("syncResult") or {}).get("resources") or []
    return sum(1 for r in resources if isinstance(r, dict) and r.get("status") == "PruneSkipped")


def _outputs(app: dict[str, Any]) -> dict[str, Any]:
    status = app.get("status") or {}
    raw = json.dumps(app, indent=2)
    return {
        "exitCode": 0,
        "stdOutLineCount": raw.count("\n") + 1,
        "stdErrLineCount": 0,
        "vars": {},
        "syncStatus": (status.get("sync") or {}).get("status"),
        "healthStatus": (status.get("health") or {}).get("status"),
        "resources": status.get("resources"),
        "rawOutput": raw,
    }
