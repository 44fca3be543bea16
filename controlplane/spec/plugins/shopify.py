"""Shopify (``io.kestra.plugin.shopify.orders.List``): a store's orders over the Admin REST
API, authenticated by an Admin API ``accessToken``. ``SHOPIFY_BASE_URL`` in the worker's
environment replaces ``https://<storeDomain>`` (a proxy or a test server)."""

from __future__ import annotations

from datetime import timedelta

from controlplane.spec.fields import DynDuration, DynInt, Text
from controlplane.spec.plugins.jdbc import FetchType
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec


@task("io.kestra.plugin.shopify.orders.List")
class ShopifyOrdersList(TaskSpec):
    """``GET /admin/api/{apiVersion}/orders.json`` filtered by ``limit``, ``sinceId``,
    ``status``, ``financialStatus``, ``fulfillmentStatus``, ``createdAtMin``/``Max`` and
    ``updatedAtMin``/``Max``. Outputs ``orders`` (Shopify's order objects; the first only with
    ``fetchType: FETCH_ONE``) and ``count``."""

    storeDomain: Text
    accessToken: Text
    apiVersion: Text = "2024-10"
    rateLimitDelay: DynDuration = timedelta(milliseconds=500)
    fetchType: FetchType = "FETCH"
    limit: DynInt | None = None
    sinceId: DynInt | None = None
    status: Text | None = None
    financialStatus: Text | None = None
    fulfillmentStatus: Text | None = None
    createdAtMin: Text | None = None
    createdAtMax: Text | None = None
    updatedAtMin: Text | None = None
    updatedAtMax: Text | None = None
