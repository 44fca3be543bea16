"""CDKTF constructs for the weir provider, generated from
terraform/provider-schema/weir.json by ``python -m controlplane.provider.cdktf.generate``; do not
edit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

try:
    import cdktf
except ImportError:  # CDK Terrain, the community continuation of CDKTF
    import cdktn as cdktf  # type: ignore[no-redef]
from constructs import Construct

_METADATA = cdktf.TerraformProviderGeneratorMetadata(provider_name="weir")


def _present(config: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in config.items() if value is not None}



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
            terraform_generator_metadata=_METADATA,
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
        return _present(self._config)


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
            terraform_generator_metadata=_METADATA,
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
        return _present(self._config)

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
            terraform_generator_metadata=_METADATA,
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
        return _present(self._config)

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
            terraform_generator_metadata=_METADATA,
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
        return _present(self._config)

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
            terraform_generator_metadata=_METADATA,
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
        return _present(self._config)

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
            terraform_generator_metadata=_METADATA,
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
        return _present(self._config)

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


class Subflow(cdktf.TerraformResource):
    """A subflow: a flow with a declared interface (typed inputs and outputs) that is checked against its YAML source, so that callers can rely on it."""

    TF_TYPE = "weir_subflow"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        content: str,
        inputs: Sequence[Mapping[str, Any]],
        flow_id: str | None = None,
        namespace: str | None = None,
        outputs: Sequence[Mapping[str, Any]] | None = None,
        provider: Any = None,
        depends_on: Any = None,
        count: Any = None,
        for_each: Any = None,
        lifecycle: Any = None,
    ) -> None:
        super().__init__(
            scope,
            id,
            terraform_resource_type="weir_subflow",
            terraform_generator_metadata=_METADATA,
            provider=provider,
            depends_on=depends_on,
            count=count,
            for_each=for_each,
            lifecycle=lifecycle,
        )
        self._config = {
            "content": content,
            "flow_id": flow_id,
            "inputs": inputs,
            "namespace": namespace,
            "outputs": outputs,
        }

    def _synthesize_attributes(self) -> dict[str, Any]:
        return _present(self._config)

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


class DataWeirFlow(cdktf.TerraformDataSource):
    """Reads a flow: its source, revision, labels and interface."""

    TF_TYPE = "weir_flow"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        flow_id: str,
        namespace: str,
        provider: Any = None,
        depends_on: Any = None,
        count: Any = None,
        for_each: Any = None,
    ) -> None:
        super().__init__(
            scope,
            id,
            terraform_resource_type="weir_flow",
            terraform_generator_metadata=_METADATA,
            provider=provider,
            depends_on=depends_on,
            count=count,
            for_each=for_each,
        )
        self._config = {
            "flow_id": flow_id,
            "namespace": namespace,
        }

    def _synthesize_attributes(self) -> dict[str, Any]:
        return _present(self._config)

    @property
    def content(self) -> str:
        return self.get_string_attribute("content")  # type: ignore[no-any-return]

    @property
    def description(self) -> str:
        return self.get_string_attribute("description")  # type: ignore[no-any-return]

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
    def labels(self) -> Mapping[str, str]:
        return self.get_string_map_attribute("labels")  # type: ignore[no-any-return]

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
            terraform_generator_metadata=_METADATA,
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
        return _present(self._config)

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


class DataWeirNamespace(cdktf.TerraformDataSource):
    """Reads a namespace."""

    TF_TYPE = "weir_namespace"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        provider: Any = None,
        depends_on: Any = None,
        count: Any = None,
        for_each: Any = None,
    ) -> None:
        super().__init__(
            scope,
            id,
            terraform_resource_type="weir_namespace",
            terraform_generator_metadata=_METADATA,
            provider=provider,
            depends_on=depends_on,
            count=count,
            for_each=for_each,
        )
        self._config = {
            "name": name,
        }

    def _synthesize_attributes(self) -> dict[str, Any]:
        return _present(self._config)

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
    def managed_by(self) -> str:
        return self.get_string_attribute("managed_by")  # type: ignore[no-any-return]

    @property
    def name(self) -> str:
        return self.get_string_attribute("name")  # type: ignore[no-any-return]

    @property
    def revision(self) -> float:
        return self.get_number_attribute("revision")  # type: ignore[no-any-return]

    @property
    def variables(self) -> Mapping[str, str]:
        return self.get_string_map_attribute("variables")  # type: ignore[no-any-return]
