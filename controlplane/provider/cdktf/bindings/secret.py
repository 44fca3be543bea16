"""The ``weir_secret`` resource.

Generated from terraform/provider-schema/weir.json by
``python -m controlplane.provider.cdktf.generate``; do not edit."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from controlplane.provider.cdktf.bindings._common import METADATA, cdktf, present


class Secret(cdktf.TerraformResource):
    """A secret of a namespace, read by flows as `{{ secret('NAME') }}`. Its value is write-only: Terraform sends it to Weir and keeps it in neither the plan nor the state."""

    TF_TYPE = "weir_secret"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        namespace: str,
        value_wo: str,
        value_wo_version: float | None = None,
        provider: Any = None,
        depends_on: Any = None,
        count: Any = None,
        for_each: Any = None,
        lifecycle: Any = None,
    ) -> None:
        super().__init__(
            scope,
            id,
            terraform_resource_type="weir_secret",
            terraform_generator_metadata=METADATA,
            provider=provider,
            depends_on=depends_on,
            count=count,
            for_each=for_each,
            lifecycle=lifecycle,
        )
        self._config = {
            "name": name,
            "namespace": namespace,
            "value_wo": value_wo,
            "value_wo_version": value_wo_version,
        }

    def _synthesize_attributes(self) -> dict[str, Any]:
        return present(self._config)

    @property
    def fingerprint(self) -> str:
        return self.get_string_attribute("fingerprint")  # type: ignore[no-any-return]

    @property
    def tf_id(self) -> str:
        return self.get_string_attribute("id")  # type: ignore[no-any-return]

    @property
    def name(self) -> str:
        return self.get_string_attribute("name")  # type: ignore[no-any-return]

    @property
    def namespace(self) -> str:
        return self.get_string_attribute("namespace")  # type: ignore[no-any-return]

    @property
    def revision(self) -> float:
        return self.get_number_attribute("revision")  # type: ignore[no-any-return]

    @property
    def value_wo(self) -> str:
        return self.get_string_attribute("value_wo")  # type: ignore[no-any-return]

    @property
    def value_wo_version(self) -> float:
        return self.get_number_attribute("value_wo_version")  # type: ignore[no-any-return]
