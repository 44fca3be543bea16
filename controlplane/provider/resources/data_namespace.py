"""Data source ``weir_namespace``: a namespace's description, variables and labels."""

from __future__ import annotations

from controlplane.client.errors import NotFound
from controlplane.provider.resources.common import WeirDataSource, string_map
from controlplane.provider.runtime.diagnostics import Diagnostics, ProviderError
from controlplane.provider.runtime.resource import State
from controlplane.provider.runtime.schema import NUMBER, STRING, Attribute, Schema, map_of


class NamespaceData(WeirDataSource):
    type_name = "weir_namespace"
    schema = Schema(
        description="Reads a namespace.",
        attributes=(
            Attribute("name", STRING, "The namespace, such as `company.team`.", required=True),
            Attribute("id", STRING, "The namespace's name.", computed=True),
            Attribute("description", STRING, "What the namespace holds.", computed=True),
            Attribute("variables", map_of(STRING), "Its variables.", computed=True),
            Attribute("labels", map_of(STRING), "Its labels.", computed=True),
            Attribute("managed_by", STRING, "Who manages it, if anyone.", computed=True),
            Attribute("revision", NUMBER, "Its revision.", computed=True),
        ),
    )

    def read(self, config: State, diagnostics: Diagnostics) -> State:
        name = config["name"]
        try:
            found = self.provider.client.namespaces.get(name)
        except NotFound:
            raise ProviderError(f"namespace {name} does not exist", path=["name"]) from None
        return {
            "name": found.name,
            "id": found.name,
            "description": found.description,
            "variables": string_map(found.variables, {}),
            "labels": string_map(found.labels, {}),
            "managed_by": found.managed_by,
            "revision": found.revision,
        }
