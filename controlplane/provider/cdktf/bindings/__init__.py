"""CDKTF constructs for the weir provider, one module per resource and data source,
generated from terraform/provider-schema/weir.json by
``python -m controlplane.provider.cdktf.generate``; do not edit."""

from __future__ import annotations

from controlplane.provider.cdktf.bindings.data_flow import DataWeirFlow
from controlplane.provider.cdktf.bindings.data_flows import DataWeirFlows
from controlplane.provider.cdktf.bindings.data_namespace import DataWeirNamespace
from controlplane.provider.cdktf.bindings.flow import Flow
from controlplane.provider.cdktf.bindings.kv import Kv
from controlplane.provider.cdktf.bindings.namespace import Namespace
from controlplane.provider.cdktf.bindings.namespace_file import NamespaceFile
from controlplane.provider.cdktf.bindings.provider import WeirProvider
from controlplane.provider.cdktf.bindings.secret import Secret
from controlplane.provider.cdktf.bindings.subflow import Subflow

__all__ = [
    "DataWeirFlow",
    "DataWeirFlows",
    "DataWeirNamespace",
    "Flow",
    "Kv",
    "Namespace",
    "NamespaceFile",
    "Secret",
    "Subflow",
    "WeirProvider",
]
