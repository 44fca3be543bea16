"""The weir provider block.

Generated from terraform/provider-schema/weir.json by
``python -m controlplane.provider.cdktf.generate``; do not edit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from constructs import Construct

from controlplane.provider.cdktf.bindings._common import METADATA, cdktf, present


class WeirProvider(cdktf.TerraformProvider):
    """The weir provider block (endpoint, token: WEIR_URL, WEIR_TOKEN)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        endpoint: str | None = None,
        owner: str | None = None,
        retries: float | None = None,
        take_over: Sequence[str] | None = None,
        timeout: float | None = None,
        token: str | None = None,
        alias: str | None = None,
    ) -> None:
        super().__init__(
            scope,
            id,
            terraform_resource_type="weir",
            terraform_generator_metadata=METADATA,
            terraform_provider_source="weir/weir",
        )
        self._config = {
            "endpoint": endpoint,
            "owner": owner,
            "retries": retries,
            "take_over": take_over,
            "timeout": timeout,
            "token": token,
            "alias": alias,
        }

    def _synthesize_attributes(self) -> dict[str, Any]:
        return present(self._config)
