"""Kestra's kubectl-like tasks: Apply (server-side apply), Get, Delete, Patch and Restart."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.kubernetes import (
    Apply,
    Delete,
    Get,
    KubernetesTask,
    Patch,
    Restart,
)
from controlplane.tasks import props
from controlplane.tasks.ion import to_ion
from controlplane.tasks.kubernetes import resources
from controlplane.tasks.kubernetes.api import Kube, KubeError, Obj
from controlplane.tasks.kubernetes.connection import connect

FIELD_MANAGER = "weir"


def _namespace(task: KubernetesTask, ctx: RunContext, default: str | None) -> str:
    namespace = props.text(ctx, task.namespace)
    return default if task.namespace == "default" and default else namespace


def _wait(task: KubernetesTask, ctx: RunContext) -> timedelta | None:
    if task.waitUntilReady is None:
        return None
    limit = props.duration(ctx, task.waitUntilReady, "waitUntilReady")
    return limit if limit > timedelta() else None


@runs(Apply)
def run_apply(task: Apply, ctx: RunContext) -> dict[str, Any]:
    try:
        documents = [d for d in yaml.safe_load_all(props.text(ctx, task.spec)) if d]
    except yaml.YAMLError as exc:
        raise TaskFailed(f"The spec of task '{task.id}' is not YAML: {exc}") from exc
    applied: list[Obj] = []
    with connect(ctx, task.connection) as (kube, default):
        namespace = _namespace(task, ctx, default)
        limit = _wait(task, ctx)
        for document in documents:
            if not isinstance(document, dict):
                raise TaskFailed(f"The spec of task '{task.id}' holds a document that is no object")
            obj = _apply(kube, document, namespace)
            ctx.info(f"Applied {obj['kind']} {_where(obj)}")
            if limit is not None:
                kind = resources.for_manifest(kube, obj)
                ctx.info(f"Waiting up to {limit} for {obj['kind']} {_where(obj)} to be ready")
                obj = resources.wait_ready(kube, kind, namespace, obj["metadata"]["name"], limit)
            applied.append(resources.metadata(obj))
    return {"metadata": applied}


def _apply(kube: Kube, document: Obj, namespace: str) -> Obj:
    kind = resources.for_manifest(kube, document)
    name = (document.get("metadata") or {}).get("name")
    if not name:
        raise TaskFailed(f"A {kind.kind} to apply needs metadata.name")
    body = json.loads(json.dumps(document))
    target = namespace
    if kind.namespaced:
        target = body["metadata"].setdefault("namespace", namespace)
    query = {"fieldManager": FIELD_MANAGER, "force": True}
    try:
        result: Obj = kube.request(
            "PATCH",
            kind.path(target, name),
            body=body,
            query=query,
            content_type="application/apply-patch+yaml",
        )
    except KubeError as exc:
        raise TaskFailed(f"Could not apply {kind.kind} {target}/{name}: {exc}") from exc
    return result


def _where(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else str(meta.get("name"))


@runs(Get)
def run_get(task: Get, ctx: RunContext) -> dict[str, Any]:
    fetch = props.text(ctx, task.fetchType).upper()
    if fetch not in ("NONE", "FETCH", "FETCH_ONE", "STORE"):
        raise TaskFailed(f"fetchType must be NONE, FETCH, FETCH_ONE or STORE, not '{fetch}'")
    names = props.string_list(ctx, task.resourcesNames, "resourcesNames")
    with connect(ctx, task.connection) as (kube, default):
        namespace = _namespace(task, ctx, default)
        kind = resources.resolve(
            kube,
            props.text(ctx, task.resourceType),
            props.optional_text(ctx, task.apiGroup),
            props.optional_text(ctx, task.apiVersion),
        )
        items = _fetch(kube, ctx, kind, namespace, names, _wait(task, ctx))
    ctx.info(f"Fetched {len(items)} {kind.plural} in namespace {namespace}")
    metadata = [resources.metadata(item) for item in items]
    status = [{"status": item.get("status")} for item in items]
    stored = fetch in ("FETCH", "FETCH_ONE")
    ctx.metric("fetch.size", len(items) if fetch != "NONE" else 0, "counter",
               fetch=str(stored).lower(), store=str(fetch == "STORE").lower())  # fmt: skip
    if fetch == "FETCH":
        return {"metadataItems": metadata, "statusItems": status, "size": len(items)}
    if fetch == "FETCH_ONE":
        return {
            "metadataItem": metadata[0] if metadata else None,
            "statusItem": status[0] if status else None,
            "size": len(items),
        }
    if fetch == "STORE":
        rows = [{"metadata": m, "status": s} for m, s in zip(metadata, status, strict=True)]
        text = "".join(to_ion(row) + "\n" for row in rows)
        return {"uri": ctx.put_file(f"{task.id}.ion", text.encode()), "size": len(rows)}
    return {}


def _fetch(
    kube: Kube,
    ctx: RunContext,
    kind: resources.Kind,
    namespace: str,
    names: list[str],
    limit: timedelta | None,
) -> list[Obj]:
    if not names:
        listing = kube.get(kind.path(namespace))
        return [dict(item, kind=kind.kind) for item in listing.get("items", [])]
    items: list[Obj] = []
    for name in names:
        found = kube.find(kind.path(namespace, name))
        if found is None:
            ctx.warning(f"{kind.kind} {namespace}/{name} was not found")
            continue
        if limit is not None:
            found = resources.wait_ready(kube, kind, namespace, name, limit)
        items.append(found)
    return items


@runs(Delete)
def run_delete(task: Delete, ctx: RunContext) -> dict[str, Any]:
    names = props.string_list(ctx, task.resourcesNames, "resourcesNames")
    with connect(ctx, task.connection) as (kube, default):
        namespace = _namespace(task, ctx, default)
        kind = resources.resolve(
            kube,
            props.text(ctx, task.resourceType),
            props.optional_text(ctx, task.apiGroup),
            props.optional_text(ctx, task.apiVersion),
        )
        for name in names:
            if kube.delete(kind.path(namespace, name)):
                ctx.info(f"Deleted {kind.kind} {namespace}/{name}")
            else:
                ctx.warning(f"{kind.kind} {namespace}/{name} did not exist")
    return {}


_PATCH_TYPES = {
    "STRATEGIC_MERGE": "application/strategic-merge-patch+json",
    "JSON_MERGE": "application/merge-patch+json",
    "JSON_PATCH": "application/json-patch+json",
}


@runs(Patch)
def run_patch(task: Patch, ctx: RunContext) -> dict[str, Any]:
    strategy = props.text(ctx, task.patchStrategy).upper()
    if strategy not in _PATCH_TYPES:
        raise TaskFailed(
            f"patchStrategy must be one of {', '.join(_PATCH_TYPES)}, not '{strategy}'"
        )
    try:
        body = json.loads(props.text(ctx, task.patch))
    except ValueError as exc:
        raise TaskFailed(f"The patch of task '{task.id}' is not JSON: {exc}") from exc
    name = props.text(ctx, task.resourceName)
    with connect(ctx, task.connection) as (kube, default):
        namespace = _namespace(task, ctx, default)
        kind = resources.resolve(
            kube,
            props.text(ctx, task.resourceType),
            props.optional_text(ctx, task.apiGroup),
            props.optional_text(ctx, task.apiVersion),
        )
        try:
            obj: Obj = kube.request(
                "PATCH", kind.path(namespace, name), body=body, content_type=_PATCH_TYPES[strategy]
            )
        except KubeError as exc:
            raise TaskFailed(f"Could not patch {kind.kind} {namespace}/{name}: {exc}") from exc
        ctx.info(f"Patched {kind.kind} {namespace}/{name}")
        limit = _wait(task, ctx)
        if limit is not None:
            obj = resources.wait_ready(kube, kind, namespace, name, limit)
    return {"metadata": resources.metadata(obj)}


_RESTARTABLE = {
    "deployment": "deployments",
    "statefulset": "statefulsets",
    "daemonset": "daemonsets",
}


@runs(Restart)
def run_restart(task: Restart, ctx: RunContext) -> dict[str, Any]:
    """What ``kubectl rollout restart`` does: a new restartedAt annotation on the Pod template."""
    wanted = props.text(ctx, task.resourceType)
    plural = _RESTARTABLE.get(wanted.lower().rstrip("s"))
    if plural is None:
        raise TaskFailed(f"Restart handles Deployment, StatefulSet and DaemonSet, not '{wanted}'")
    names = props.string_list(ctx, task.resourcesNames, "resourcesNames")
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch = {
        "spec": {
            "template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}
        }
    }
    with connect(ctx, task.connection) as (kube, default):
        namespace = _namespace(task, ctx, default)
        for name in names:
            url = f"/apis/apps/v1/namespaces/{namespace}/{plural}/{name}"
            try:
                kube.request(
                    "PATCH", url, body=patch, content_type="application/strategic-merge-patch+json"
                )
            except KubeError as exc:
                raise TaskFailed(f"Could not restart {wanted} {namespace}/{name}: {exc}") from exc
            ctx.info(f"Restarting {wanted} {namespace}/{name}")
    return {}
