"""The ``weir`` provider's resource and data source types, one module each."""

from __future__ import annotations

from typing import Any

from controlplane.provider.provider import WeirProvider
from controlplane.provider.resources.data_flow import FlowData
from controlplane.provider.resources.data_flows import FlowsData
from controlplane.provider.resources.data_namespace import NamespaceData
from controlplane.provider.resources.flow import FlowResource
from controlplane.provider.resources.kv import KvResource
from controlplane.provider.resources.namespace import NamespaceResource
from controlplane.provider.resources.namespace_file import NamespaceFileResource
from controlplane.provider.resources.secret import SecretResource
from controlplane.provider.resources.subflow import SubflowResource
from controlplane.provider.runtime.resource import DataSource, Resource

RESOURCE_TYPES: tuple[type[Resource[Any]], ...] = (
    NamespaceResource,
    SecretResource,
    KvResource,
    NamespaceFileResource,
    FlowResource,
    SubflowResource,
)
DATA_SOURCE_TYPES: tuple[type[DataSource[Any]], ...] = (NamespaceData, FlowData, FlowsData)


def weir_provider() -> WeirProvider:
    """The provider with every resource and data source type, as Terraform runs it."""
    return WeirProvider(RESOURCE_TYPES, DATA_SOURCE_TYPES)
