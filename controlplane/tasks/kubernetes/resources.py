"""Kinds by name, through the API server's discovery: ``pods``, ``Pod``, ``deployments`` with or
without their group, custom resources with theirs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from controlplane.engine.runnable import TaskFailed
from controlplane.tasks.kubernetes.api import Kube, KubeError, Obj


@dataclass(frozen=True)
class Kind:
    group_version: str  # "v1", "apps/v1"
    plural: str
    kind: str
    namespaced: bool

    def path(self, namespace: str | None, name: str | None = None) -> str:
        base = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        parts = [base]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{namespace}")
        parts.append(self.plural)
        if name:
            parts.append(name)
        return "/".join(parts)


def _matches(resource: Obj, wanted: str) -> bool:
    if "/" in resource["name"]:  # subresources such as pods/log
        return False
    names = {resource["name"], resource.get("singularName") or "", resource["kind"]}
    return wanted.lower() in {n.lower() for n in names if n}


def _search(kube: Kube, group_version: str, wanted: str) -> Kind | None:
    url = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    try:
        listing = kube.get(url)
    except KubeError as exc:
        if exc.status == 404:
            return None
        raise
    for resource in listing.get("resources", []):
        if _matches(resource, wanted):
            return Kind(group_version, resource["name"], resource["kind"], resource["namespaced"])
    return None


def resolve(kube: Kube, wanted: str, group: str | None, version: str | None) -> Kind:
    """The kind named ``wanted`` (plural, singular or Kind, any case)."""
    if group:
        versions = [version] if version else _versions(kube, group)
        for candidate in versions:
            found = _search(kube, f"{group}/{candidate}", wanted)
            if found:
                return found
    else:
        found = _search(kube, version or "v1", wanted) if (version or "v1") == "v1" else None
        if found:
            return found
        for group_name in _groups(kube):
            for candidate in [version] if version else _versions(kube, group_name):
                found = _search(kube, f"{group_name}/{candidate}", wanted)
                if found:
                    return found
    where = f" in the API group '{group}'" if group else ""
    raise TaskFailed(
        f"The API server at {kube.server} serves no resource type '{wanted}'{where}: give its "
        "plural name (deployments), its kind (Deployment) and, for custom resources, apiGroup"
    )


def for_manifest(kube: Kube, manifest: Obj) -> Kind:
    api_version = str(manifest.get("apiVersion") or "")
    kind = str(manifest.get("kind") or "")
    if not api_version or not kind:
        raise TaskFailed("A manifest needs apiVersion and kind")
    found = _search(kube, api_version, kind)
    if found is None:
        raise TaskFailed(f"The API server at {kube.server} serves no {kind} in {api_version}")
    return found


def _groups(kube: Kube) -> list[str]:
    return [g["name"] for g in kube.get("/apis").get("groups", [])]


def _versions(kube: Kube, group: str) -> list[str]:
    for entry in kube.get("/apis").get("groups", []):
        if entry["name"] == group:
            preferred = entry.get("preferredVersion", {}).get("version")
            others = [v["version"] for v in entry.get("versions", [])]
            return [preferred, *[v for v in others if v != preferred]] if preferred else others
    return []


def metadata(obj: Obj) -> Obj:
    """An object's metadata as Kestra's tasks output it (without managedFields)."""
    return {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}


def is_ready(obj: Obj) -> bool:
    """Ready, Available or Complete by its conditions; a Deployment-like object by its replicas;
    an object without status (ConfigMap, Secret...) as soon as it exists."""
    status: Any = obj.get("status")
    if not status:
        return obj.get("kind") not in ("Pod", "Deployment", "StatefulSet", "DaemonSet", "Job")
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    if obj.get("kind") == "Pod":
        return status.get("phase") == "Succeeded" or conditions.get("Ready") == "True"
    if "replicas" in (obj.get("spec") or {}):
        wanted = obj["spec"].get("replicas", 1)
        return int(status.get("readyReplicas") or 0) >= int(wanted)
    return any(conditions.get(t) == "True" for t in ("Ready", "Available", "Complete"))


def wait_ready(kube: Kube, kind: Kind, namespace: str, name: str, limit: timedelta) -> Obj:
    """Watch the object until :func:`is_ready`; TaskFailed after ``limit``."""
    deadline = time.monotonic() + limit.total_seconds()
    obj: Obj = kube.get(kind.path(namespace, name))
    while not is_ready(obj):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TaskFailed(
                f"{kind.kind} {namespace}/{name} was not ready within {limit} "
                f"(status: {obj.get('status')})"
            )
        query = {
            "fieldSelector": f"metadata.name={name}",
            "resourceVersion": obj["metadata"]["resourceVersion"],
        }
        try:
            for event, seen in kube.watch(kind.path(namespace), query, int(min(left, 30)) or 1):
                if event in ("ADDED", "MODIFIED"):
                    obj = seen
                    if is_ready(obj):
                        return obj
        except KubeError as exc:
            if exc.status != 410:
                raise
        obj = kube.get(kind.path(namespace, name))
    return obj
