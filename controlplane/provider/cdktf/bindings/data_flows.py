"""The ``weir_flows`` data source.

Generated from terraform/provider-schema/weir.json by
``python -m controlplane.provider.cdktf.generate``; do not edit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from constructs import Construct

from controlplane.provider.cdktf.bindings._common import METADATA, cdktf, present


class DataWeirFlows(cdktf.TerraformDataSource):
    """Lists flows: those of a namespace and the namespaces below it, carrying every one of the given labels."""

    TF_TYPE = "weir_flows"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        labels: Mapping[str, str] | None = None,
        namespace: str | None = None,
        provider: Any = None,
        depends_on: Any = None,
        count: Any = None,
        for_each: Any = None,
    ) -> None:
        super().__init__(
            scope,
            id,
            terraform_resource_type="weir_flows",
            terraform_generator_metadata=METADATA,
            provider=provider,
            depends_on=depends_on,
            count=count,
            for_each=for_each,
        )
        self._config = {
            "labels": labels,
            "namespace": namespace,
        }

    def _synthesize_attributes(self) -> dict[str, Any]:
        return present(self._config)

    @property
    def flows(self) -> Any:
        return self.interpolation_for_attribute("flows")  # type: ignore[no-any-return]

    @property
    def ids(self) -> list[str]:
        return self.get_list_attribute("ids")  # type: ignore[no-any-return]

    @property
    def labels(self) -> Mapping[str, str]:
        return self.get_string_map_attribute("labels")  # type: ignore[no-any-return]

    @property
    def namespace(self) -> str:
        return self.get_string_attribute("namespace")  # type: ignore[no-any-return]
