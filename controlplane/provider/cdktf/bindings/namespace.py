"""The ``weir_namespace`` resource.

Generated from terraform/provider-schema/weir.json by
``python -m controlplane.provider.cdktf.generate``; do not edit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from constructs import Construct

from controlplane.provider.cdktf.bindings._common import METADATA, cdktf, present


class Namespace(cdktf.TerraformResource):
    """A namespace: where flows, secrets, KV pairs and files live, with variables its flows read as `{{ namespace.<name> }}`."""

    TF_TYPE = "weir_namespace"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        allowed_namespaces: Sequence[str] | None = None,
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
        variables: Mapping[str, str] | None = None,
        provider: Any = None,
        depends_on: Any = None,
        count: Any = None,
        for_each: Any = None,
        lifecycle: Any = None,
    ) -> None:
        super().__init__(
            scope,
            id,
            terraform_resource_type="weir_namespace",
            terraform_generator_metadata=METADATA,
            provider=provider,
            depends_on=depends_on,
            count=count,
            for_each=for_each,
            lifecycle=lifecycle,
        )
        self._config = {
            "allowed_namespaces": allowed_namespaces,
            "description": description,
            "labels": labels,
            "name": name,
            "variables": variables,
        }

    def _synthesize_attributes(self) -> dict[str, Any]:
        return present(self._config)

    @property
    def allowed_namespaces(self) -> list[str]:
        return self.get_list_attribute("allowed_namespaces")  # type: ignore[no-any-return]

    @property
    def description(self) -> str:
        return self.get_string_attribute("description")  # type: ignore[no-any-return]

    @property
    def tf_id(self) -> str:
        return self.get_string_attribute("id")  # type: ignore[no-any-return]

    @property
    def labels(self) -> Mapping[str, str]:
        return self.get_string_map_attribute("labels")  # type: ignore[no-any-return]

    @property
    def name(self) -> str:
        return self.get_string_attribute("name")  # type: ignore[no-any-return]

    @property
    def revision(self) -> float:
        return self.get_number_attribute("revision")  # type: ignore[no-any-return]

    @property
    def variables(self) -> Mapping[str, str]:
        return self.get_string_map_attribute("variables")  # type: ignore[no-any-return]
