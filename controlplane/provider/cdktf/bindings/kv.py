"""The ``weir_kv`` resource.

Generated from terraform/provider-schema/weir.json by
``python -m controlplane.provider.cdktf.generate``; do not edit."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from controlplane.provider.cdktf.bindings._common import METADATA, cdktf, present


class Kv(cdktf.TerraformResource):
    """A KV pair of a namespace, read by flows as `{{ kv('KEY') }}`."""

    TF_TYPE = "weir_kv"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        key: str,
        namespace: str,
        value: str,
        ttl: str | None = None,
        type: str | None = None,
        provider: Any = None,
        depends_on: Any = None,
        count: Any = None,
        for_each: Any = None,
        lifecycle: Any = None,
    ) -> None:
        super().__init__(
            scope,
            id,
            terraform_resource_type="weir_kv",
            terraform_generator_metadata=METADATA,
            provider=provider,
            depends_on=depends_on,
            count=count,
            for_each=for_each,
            lifecycle=lifecycle,
        )
        self._config = {
            "key": key,
            "namespace": namespace,
            "ttl": ttl,
            "type": type,
            "value": value,
        }

    def _synthesize_attributes(self) -> dict[str, Any]:
        return present(self._config)

    @property
    def expires(self) -> str:
        return self.get_string_attribute("expires")  # type: ignore[no-any-return]

    @property
    def tf_id(self) -> str:
        return self.get_string_attribute("id")  # type: ignore[no-any-return]

    @property
    def key(self) -> str:
        return self.get_string_attribute("key")  # type: ignore[no-any-return]

    @property
    def namespace(self) -> str:
        return self.get_string_attribute("namespace")  # type: ignore[no-any-return]

    @property
    def revision(self) -> float:
        return self.get_number_attribute("revision")  # type: ignore[no-any-return]

    @property
    def ttl(self) -> str:
        return self.get_string_attribute("ttl")  # type: ignore[no-any-return]

    @property
    def type(self) -> str:
        return self.get_string_attribute("type")  # type: ignore[no-any-return]

    @property
    def value(self) -> str:
        return self.get_string_attribute("value")  # type: ignore[no-any-return]
