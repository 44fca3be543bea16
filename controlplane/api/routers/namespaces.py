"""Namespaces: create or replace, read, list (the hierarchy under a prefix), delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field, StringConstraints

from controlplane.api.auth import Caller
from controlplane.api.control import Intent, check_write, tag
from controlplane.api.deps import ApiModel, NamespacePath, Page, PageDep, StoreDep
from controlplane.api.errors import NotEmpty, NotFound
from controlplane.engine.ports import NamespaceRecord, Repositories
from controlplane.spec.names import NAMESPACE_PATTERN

router = APIRouter(prefix="/namespaces", tags=["namespaces"])


AllowedNamespace = Annotated[
    str, StringConstraints(pattern=NAMESPACE_PATTERN.replace("^", "^(\\*|", 1) + ")$")
]


class NamespaceIn(ApiModel):
    description: str | None = Field(None, max_length=10_000)
    variables: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    allowed_namespaces: list[AllowedNamespace] = Field(
        default_factory=list,
        max_length=1000,
        description="Other namespaces whose flows may reach this one's flows, KV pairs and "
        "files (Kestra's allowedNamespaces); an entry also allows those below it, * all",
    )


class Namespace(BaseModel):
    name: str
    parent: str | None
    description: str | None
    variables: dict[str, Any]
    labels: dict[str, str]
    managed_by: str | None
    revision: int
    allowed_namespaces: list[str] = []

    @classmethod
    def of(cls, record: NamespaceRecord) -> Namespace:
        parent, _, _ = record.name.rpartition(".")
        return cls(
            name=record.name,
            parent=parent or None,
            description=record.description,
            variables=record.variables,
            labels=record.labels,
            managed_by=record.managed_by,
            revision=record.revision,
            allowed_namespaces=list(record.allowed_namespaces),
        )


@router.get("", summary="List namespaces")
def list_namespaces(
    caller: Caller,
    store: StoreDep,
    page: PageDep,
    prefix: Annotated[str | None, Query(max_length=150)] = None,
) -> Page[Namespace]:
    caller.require("read")
    with store.unit(read_only=True) as repos:
        records = repos.namespaces.list_namespaces(prefix)
    visible = [Namespace.of(r) for r in records if caller.sees(r.name)]
    return Page(results=page.slice(visible), total=len(visible))


@router.get("/{namespace}", summary="Read a namespace")
async def read_namespace(
    namespace: NamespacePath, caller: Caller, store: StoreDep, response: Response
) -> Namespace:
    caller.require("read", namespace)
    with store.unit(read_only=True) as repos:
        record = repos.namespaces.read_namespace(namespace)
    if record is None:
        raise NotFound(f"namespace {namespace} does not exist")
    tag(response, record.revision)
    return Namespace.of(record)


@router.put(
    "/{namespace}",
    summary="Create or replace a namespace",
    responses={201: {"model": Namespace, "description": "Created"}},
)
def put_namespace(
    namespace: NamespacePath,
    body: NamespaceIn,
    caller: Caller,
    intent: Intent,
    store: StoreDep,
    response: Response,
) -> Namespace:
    caller.require("admin", namespace)
    with store.unit() as repos:
        stored = repos.namespaces.read_namespace(namespace)
        check_write("namespace", namespace, stored, intent)
        saved = repos.namespaces.update_namespace(
            NamespaceRecord(
                name=namespace,
                description=body.description,
                variables=body.variables,
                labels=body.labels,
                managed_by=intent.manager,
                revision=0,
                allowed_namespaces=tuple(body.allowed_namespaces),
            )
        )
    if stored is None:
        response.status_code = status.HTTP_201_CREATED
    tag(response, saved.revision)
    return Namespace.of(saved)


@router.delete(
    "/{namespace}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an empty namespace"
)
def delete_namespace(
    namespace: NamespacePath, caller: Caller, intent: Intent, store: StoreDep
) -> None:
    caller.require("admin", namespace)
    with store.unit() as repos:
        stored = repos.namespaces.read_namespace(namespace)
        if stored is None:
            raise NotFound(f"namespace {namespace} does not exist")
        check_write("namespace", namespace, stored, intent)
        held = _holdings(repos, namespace)
        if held:
            raise NotEmpty(
                f"namespace {namespace} still holds {_describe(held)}; delete "
                f"{'it' if sum(len(names) for names in held.values()) == 1 else 'them'} first",
                {
                    "holds": [_count(kind, names) for kind, names in held.items()],
                    "contents": {
                        kind: [{"name": name, "managed_by": owner} for name, owner in names]
                        for kind, names in held.items()
                    },
                },
            )
        repos.namespaces.delete_namespace(namespace)


SHOWN = 5
"""How many objects of each kind a refused delete names; the rest are counted."""
_KINDS = {"flows": "flow", "secrets": "secret", "KV pairs": "KV pair", "files": "file"}


def _holdings(repos: Repositories, namespace: str) -> dict[str, list[tuple[str, str | None]]]:
    """What exactly this namespace holds, by kind: each object's name and manager."""
    found = {
        "flows": [
            (f"{f.namespace}/{f.flow_id}", f.managed_by)
            for f in repos.flows.list_flows(namespace, exact=True)
        ],
        "secrets": [(s.name, s.managed_by) for s in repos.secrets.list_secrets(namespace)],
        "KV pairs": [(k.key, k.managed_by) for k in repos.kv.list_kv(namespace)],
        "files": [
            (f.path, f.managed_by) for f in repos.namespace_files.list_namespace_files(namespace)
        ],
    }
    return {kind: names for kind, names in found.items() if names}


def _count(kind: str, names: list[tuple[str, str | None]]) -> str:
    return f"{len(names)} {kind if len(names) != 1 else _KINDS[kind]}"


def _describe(held: dict[str, list[tuple[str, str | None]]]) -> str:
    """``1 flow: company.team/hello (managed by terraform), 2 secrets: A, B``."""
    parts = []
    for kind, names in held.items():
        shown = [name + (f" (managed by {owner})" if owner else "") for name, owner in names]
        more = len(shown) - SHOWN
        listed = ", ".join(shown[:SHOWN]) + (f" and {more} more" if more > 0 else "")
        parts.append(f"{_count(kind, names)}: {listed}")
    return "; ".join(parts)
