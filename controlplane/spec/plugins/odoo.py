"""Odoo (``io.kestra.plugin.odoo.Query``): model operations over Odoo's external XML-RPC API."""

from __future__ import annotations

from typing import Any, Literal

from controlplane.spec.fields import DynInt, DynList, DynMap, DynStrList, Text
from controlplane.spec.plugins.jdbc import FetchType
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

OdooOperation = Literal[
    "SEARCH_READ", "READ", "CREATE", "WRITE", "UNLINK", "SEARCH", "SEARCH_COUNT"
]


@task("io.kestra.plugin.odoo.Query")
class OdooQuery(TaskSpec):
    """One operation on an Odoo model (``crm.lead``, ``sale.order``...) as user ``username`` of
    database ``db``: ``SEARCH_READ`` and ``SEARCH`` take ``filters`` (an Odoo domain), ``fields``,
    ``limit`` and ``offset``; ``READ``, ``WRITE`` and ``UNLINK`` take ``ids``; ``CREATE`` and
    ``WRITE`` take ``values``.

    Outputs: ``rows``, ``row`` or ``uri`` (an Ion file) as ``fetchType`` says for the reading
    operations, ``ids`` of the records created, written or deleted, and ``size``.
    """

    url: Text
    db: Text
    username: Text
    password: Text
    model: Text
    operation: OdooOperation | Text
    filters: list[Any] | Text | None = None
    fields: DynStrList | None = None
    values: DynMap | None = None
    ids: DynList | None = None
    limit: DynInt | None = None
    offset: DynInt | None = None
    fetchType: FetchType = "NONE"
