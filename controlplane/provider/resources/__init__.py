"""The ``weir`` provider's resource and data source types, one module each."""

from __future__ import annotations

from typing import Any

from controlplane.provider.resources.namespace import NamespaceResource
from controlplane.provider.runtime.resource import DataSource, Resource

RESOURCE_TYPES: tuple[type[Resource[Any]], ...] = (NamespaceResource,)
DATA_SOURCE_TYPES: tuple[type[DataSource[Any]], ...] = ()
