"""Data source ``weir_flow``: one flow as the server has it, for flows Terraform does not manage."""

from __future__ import annotations

from controlplane.provider.resources.common import WeirDataSource
from controlplane.provider.resources.flow import (
    COMPUTED_INPUTS,
    COMPUTED_OUTPUTS,
    inputs_of,
    outputs_of,
)
from controlplane.provider.runtime.diagnostics import Diagnostics, ProviderError
from controlplane.provider.runtime.resource import State
from controlplane.provider.runtime.schema import NUMBER, STRING, Attribute, Schema, map_of


class FlowData(WeirDataSource):
    type_name = "weir_flow"
    schema = Schema(
        description="Reads a flow: its source, revision, labels and interface.",
        attributes=(
            Attribute("namespace", STRING, "The flow's namespace.", required=True),
            Attribute("flow_id", STRING, "The flow's id.", required=True),
            Attribute("id", STRING, "`namespace/flow_id`.", computed=True),
            Attribute("content", STRING, "The YAML source, as written.", computed=True),
            Attribute("revision", NUMBER, "The latest revision.", computed=True),
            Attribute("description", STRING, "The flow's description.", computed=True),
            Attribute("labels", map_of(STRING), "The flow's labels.", computed=True),
            Attribute("managed_by", STRING, "Who manages it, if anyone.", computed=True),
            COMPUTED_INPUTS,
            COMPUTED_OUTPUTS,
        ),
    )

    def read(self, config: State, diagnostics: Diagnostics) -> State:
        namespace, flow_id = config["namespace"], config["flow_id"]
        found = self.provider.flows.get(namespace, flow_id)
        if found is None:
            raise ProviderError(f"flow {namespace}/{flow_id} does not exist", path=["flow_id"])
        return {
            **config,
            "id": f"{namespace}/{flow_id}",
            "content": found.source,
            "revision": found.revision,
            "description": found.description,
            "labels": found.labels,
            "managed_by": found.managed_by,
            "inputs": inputs_of(found),
            "outputs": outputs_of(found),
        }
