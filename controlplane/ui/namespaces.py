"""Namespace pages: the tree of every namespace the viewer reaches (declared ones and those that
only hold flows), and one namespace with its settings, flows, KV keys, secret names (never
values) and files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from controlplane.ui.web import Viewer, page, store_of

router = APIRouter(prefix="/ui/namespaces")


@dataclass(frozen=True)
class TreeItem:
    name: str
    depth: int
    declared: bool
    flows: int

    @property
    def leaf(self) -> str:
        return self.name.rsplit(".", 1)[-1]


@router.get("")
def list_namespaces(request: Request, viewer: Viewer) -> Response:
    store = store_of(request)

    def build() -> dict[str, Any]:
        viewer.require("read")
        with store.unit(read_only=True) as repos:
            declared = {r.name for r in repos.namespaces.list_namespaces()}
            counts: dict[str, int] = {}
            for record in repos.flows.list_flows():
                counts[record.namespace] = counts.get(record.namespace, 0) + 1
        names: set[str] = set()
        for name in declared | set(counts):
            parts = name.split(".")
            names.update(".".join(parts[: i + 1]) for i in range(len(parts)))
        tree = [
            TreeItem(name, name.count("."), name in declared, counts.get(name, 0))
            for name in sorted(names)
            if viewer.sees(name)
        ]
        return {"tree": tree}

    return page(request, "namespaces.html", build, viewer)


@router.get("/{namespace}")
def read_namespace(request: Request, namespace: str, viewer: Viewer) -> Response:
    store = store_of(request)

    def build() -> dict[str, Any]:
        viewer.require("read", namespace)
        with store.unit(read_only=True) as repos:
            return {
                "name": namespace,
                "record": repos.namespaces.read_namespace(namespace),
                "flows": repos.flows.list_flows(namespace, exact=True),
                "kv": repos.kv.list_kv(namespace),
                "secrets": repos.secrets.list_secrets(namespace),
                "files": repos.namespace_files.list_namespace_files(namespace),
                "children": sorted(
                    {
                        r.namespace
                        for r in repos.flows.list_flows(namespace)
                        if r.namespace != namespace
                    }
                ),
            }

    return page(request, "namespace.html", build, viewer)
