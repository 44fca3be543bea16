"""Shopify's Admin REST API (``https://<store>.myshopify.com/admin/api/<version>``), orders.

``GET /admin/api/{version}/orders.json`` answers ``{"orders": [...]}``, filtered by
``status`` (open by default; ``any``), ``financial_status``, ``fulfillment_status``,
``since_id`` and ``limit`` (50 by default, 250 at most). Calls need the
``X-Shopify-Access-Token`` header: without the double's, 401 ``{"errors": "[API] Invalid API
key or access token (unrecognized login or wrong password)"}``; an unknown API version gets
404 ``{"errors": "Not Found"}``.
"""

from __future__ import annotations

from typing import Any

from tests.doubles import Received, Reply, ServiceDouble

VERSIONS = ("2024-07", "2024-10", "2025-01")


class ShopifyDouble(ServiceDouble):
    def __init__(self, *, token: str = "shpat_test") -> None:
        super().__init__()
        self.token = token
        self.orders: list[dict[str, Any]] = []

    def handle(self, request: Received) -> Reply:
        if request.headers.get("x-shopify-access-token") != self.token:
            message = "[API] Invalid API key or access token (unrecognized login or wrong password)"
            return Reply(401, {"errors": message})
        parts = request.path.strip("/").split("/")
        if parts[:2] != ["admin", "api"] or len(parts) != 4 or parts[2] not in VERSIONS:
            return Reply(404, {"errors": "Not Found"})
        if parts[3] != "orders.json" or request.method != "GET":
            return Reply(404, {"errors": "Not Found"})
        query = {k: v[0] for k, v in request.query.items()}
        limit = int(query.get("limit", 50))
        if limit > 250:
            return Reply(400, {"errors": {"limit": ["must be less than or equal to 250"]}})
        found = [o for o in self.orders if _matches(o, query)]
        return Reply(200, {"orders": found[:limit]})


def _matches(order: dict[str, Any], query: dict[str, str]) -> bool:
    status = query.get("status", "open")
    if status != "any":
        closed = order.get("closed_at") is not None
        cancelled = order.get("cancelled_at") is not None
        state = "cancelled" if cancelled else "closed" if closed else "open"
        if state != status:
            return False
    for field in ("financial_status", "fulfillment_status"):
        if field in query and query[field] != "any" and order.get(field) != query[field]:
            return False
    return "since_id" not in query or order["id"] > int(query["since_id"])
