"""Data source ``weir_flows``: the flows of a namespace (and those below it), by labels."""

from __future__ import annotations

from controlplane.provider.resources.common import WeirDataSource
from controlplane.provider.runtime.diagnostics import Diagnostics
from controlplane.provider.runtime.resource import State
from controlplane.provider.runtime.schema import (
    BOOL,
    NUMBER,
    STRING,
    Attribute,
    Nested,
    Schema,
    list_of,
    map_of,
)


class FlowsData(WeirDataSource):
    type_name = "weir_flows"
    schema = Schema(
        description="Lists flows: those of a namespace and the namespaces below it, carrying "
        "every one of the given labels.",
        attributes=(
            Attribute(
                "namespace",
                STRING,
                "A namespace; its flows and those of the namespaces below it are listed. All "
                "namespaces when left out.",
                optional=True,
            ),
            Attribute(
                "labels",
                map_of(STRING),
                "Labels a flow must all carry to be listed.",
                optional=True,
            ),
            Attribute("ids", list_of(STRING), "`namespace/flow_id` of each flow.", computed=True),
            Attribute(
                "flows",
                None,
                "The flows found, ordered by namespace and id.",
                computed=True,
                nested=Nested(
                    (
                        Attribute("id", STRING, "`namespace/flow_id`.", computed=True),
                        Attribute("namespace", STRING, "Its namespace.", computed=True),
                        Attribute("flow_id", STRING, "Its id.", computed=True),
                        Attribute("revision", NUMBER, "Its latest revision.", computed=True),
                        Attribute("description", STRING, "Its description.", computed=True),
                        Attribute("labels", map_of(STRING), "Its labels.", computed=True),
                        Attribute("managed_by", STRING, "Who manages it.", computed=True),
                        Attribute("disabled", BOOL, "Whether it is disabled.", computed=True),
                    )
                ),
            ),
        ),
    )

    def read(self, config: State, diagnostics: Diagnostics) -> State:
        found = self.provider.client.flows.iter_search(
            config.get("namespace"), labels=config.get("labels") or None
        )
        flows = [
            {
                "id": f"{f.namespace}/{f.id}",
                "namespace": f.namespace,
                "flow_id": f.id,
                "revision": f.revision,
                "description": f.description,
                "labels": f.labels,
                "managed_by": f.managed_by,
                "disabled": f.disabled,
            }
            for f in found
        ]
        return {**config, "ids": [f["id"] for f in flows], "flows": flows}
