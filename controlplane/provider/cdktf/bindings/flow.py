"""The ``weir_flow`` resource.

Generated from terraform/provider-schema/weir.json by
``python -m controlplane.provider.cdktf.generate``; do not edit."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from controlplane.provider.cdktf.bindings._common import METADATA, cdktf, present


class Flow(cdktf.TerraformResource):
    """A flow, declared by its YAML source (Kestra's flow language)."""

    TF_TYPE = "weir_flow"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        content: str,
        flow_id: str | None = None,
        namespace: str | None = None,
        provider: Any = None,
        depends_on: Any = None,
        count: Any = None,
        for_each: Any = None,
        lifecycle: Any = None,
    ) -> None:
        super().__init__(
            scope,
            id,
            terraform_resource_type="weir_flow",
            terraform_generator_metadata=METADATA,
            provider=provider,
            depends_on=depends_on,
            count=count,
            for_each=for_each,
            lifecycle=lifecycle,
        )
        self._config = {
            "content": content,
            "flow_id": flow_id,
            "namespace": namespace,
        }

    def _synthesize_attributes(self) -> dict[str, Any]:
        return present(self._config)

    @property
    def content(self) -> str:
        return self.get_string_attribute("content")  # type: ignore[no-any-return]

    @property
    def flow_id(self) -> str:
        return self.get_string_attribute("flow_id")  # type: ignore[no-any-return]

    @property
    def tf_id(self) -> str:
        return self.get_string_attribute("id")  # type: ignore[no-any-return]

    @property
    def inputs(self) -> Any:
        return self.interpolation_for_attribute("inputs")  # type: ignore[no-any-return]

    @property
    def managed_by(self) -> str:
        return self.get_string_attribute("managed_by")  # type: ignore[no-any-return]

    @property
    def namespace(self) -> str:
        return self.get_string_attribute("namespace")  # type: ignore[no-any-return]

    @property
    def outputs(self) -> Any:
        return self.interpolation_for_attribute("outputs")  # type: ignore[no-any-return]

    @property
    def revision(self) -> float:
        return self.get_number_attribute("revision")  # type: ignore[no-any-return]
