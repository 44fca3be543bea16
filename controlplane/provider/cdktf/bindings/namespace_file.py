"""The ``weir_namespace_file`` resource.

Generated from terraform/provider-schema/weir.json by
``python -m controlplane.provider.cdktf.generate``; do not edit."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from controlplane.provider.cdktf.bindings._common import METADATA, cdktf, present


class NamespaceFile(cdktf.TerraformResource):
    """A file of a namespace that its flows' scripts can read, from inline `content` or from a local `source` file."""

    TF_TYPE = "weir_namespace_file"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        namespace: str,
        path: str,
        content: str | None = None,
        source: str | None = None,
        provider: Any = None,
        depends_on: Any = None,
        count: Any = None,
        for_each: Any = None,
        lifecycle: Any = None,
    ) -> None:
        super().__init__(
            scope,
            id,
            terraform_resource_type="weir_namespace_file",
            terraform_generator_metadata=METADATA,
            provider=provider,
            depends_on=depends_on,
            count=count,
            for_each=for_each,
            lifecycle=lifecycle,
        )
        self._config = {
            "content": content,
            "namespace": namespace,
            "path": path,
            "source": source,
        }

    def _synthesize_attributes(self) -> dict[str, Any]:
        return present(self._config)

    @property
    def content(self) -> str:
        return self.get_string_attribute("content")  # type: ignore[no-any-return]

    @property
    def tf_id(self) -> str:
        return self.get_string_attribute("id")  # type: ignore[no-any-return]

    @property
    def namespace(self) -> str:
        return self.get_string_attribute("namespace")  # type: ignore[no-any-return]

    @property
    def path(self) -> str:
        return self.get_string_attribute("path")  # type: ignore[no-any-return]

    @property
    def revision(self) -> float:
        return self.get_number_attribute("revision")  # type: ignore[no-any-return]

    @property
    def sha256(self) -> str:
        return self.get_string_attribute("sha256")  # type: ignore[no-any-return]

    @property
    def size(self) -> float:
        return self.get_number_attribute("size")  # type: ignore[no-any-return]

    @property
    def source(self) -> str:
        return self.get_string_attribute("source")  # type: ignore[no-any-return]
