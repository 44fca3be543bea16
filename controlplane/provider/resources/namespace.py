"""``weir_namespace``: a namespace with its description, variables and labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from controlplane.provider.resources.common import (
    REVISION,
    WeirResource,
    created,
    read_or_none,
    string_map,
    writing,
)
from controlplane.provider.runtime.resource import Change, Current, State
from controlplane.provider.runtime.schema import STRING, Attribute, Schema, list_of, map_of

if TYPE_CHECKING:
    from controlplane.client.models import Namespace


class NamespaceResource(WeirResource):
    type_name = "weir_namespace"
    schema = Schema(
        description="A namespace: where flows, secrets, KV pairs and files live, with "
        "variables its flows read as `{{ namespace.<name> }}`.",
        attributes=(
            Attribute("id", STRING, "The namespace's name, also the import id.", computed=True),
            Attribute(
                "name",
                STRING,
                "The namespace, such as `company.team`. Changing it replaces the namespace.",
                required=True,
                requires_replace=True,
            ),
            Attribute("description", STRING, "What the namespace holds.", optional=True),
            Attribute(
                "variables",
                map_of(STRING),
                "Variables the namespace's flows can read.",
                optional=True,
            ),
            Attribute("labels", map_of(STRING), "Labels of the namespace.", optional=True),
            Attribute(
                "allowed_namespaces",
                list_of(STRING),
                "Other namespaces whose flows may reach this one's flows (Subflow, Flow "
                "triggers), KV pairs and namespace files (Kestra's `allowedNamespaces`). An "
                "entry also allows the namespaces below it; `*` allows every namespace. None by "
                "default: the namespace is a wall.",
                optional=True,
            ),
            REVISION,
        ),
    )

    def create(self, change: Change) -> State:
        return self._put(change.planned, if_match=0)

    def update(self, change: Change) -> State:
        assert change.prior is not None
        return self._put(change.planned, if_match=change.prior["revision"])

    def read(self, current: Current) -> State | None:
        found = read_or_none(lambda: self.provider.client.namespaces.get(current.state["name"]))
        return None if found is None else _state(found, current.state)

    def delete(self, current: Current) -> None:
        name = current.state["name"]
        with writing(f"namespace {name}"):
            read_or_none(lambda: self.provider.client.namespaces.delete(name))

    def import_state(self, import_id: str) -> Current:
        with writing(f"namespace {import_id}"):
            found = self.provider.client.namespaces.get(import_id)
        return Current(_state(found, {}))

    def _put(self, planned: State, if_match: int | None) -> State:
        name = planned["name"]
        creating = None
        if if_match == 0:
            creating = created(self.provider, self.type_name, name, "namespaces", name)
        with writing(f"namespace {name}", creating=creating):
            saved = self.provider.client.namespaces.put(
                name,
                description=planned["description"],
                variables=planned["variables"],
                labels=planned["labels"],
                if_match=if_match,
                allowed_namespaces=planned.get("allowed_namespaces") or (),
            )
        return _state(saved, planned)


def _state(found: Namespace, prior: dict[str, Any]) -> State:
    return {
        "id": found.name,
        "name": found.name,
        "description": found.description,
        "variables": string_map(found.variables, prior.get("variables")),
        "labels": string_map(found.labels, prior.get("labels")),
        "allowed_namespaces": _allowed(found.allowed_namespaces, prior.get("allowed_namespaces")),
        "revision": found.revision,
    }


def _allowed(value: tuple[str, ...], prior: Any) -> list[str] | None:
    """An empty list as null when the state had null (so an unset attribute is no diff)."""
    if not value:
        return [] if prior == [] else None
    return list(value)
