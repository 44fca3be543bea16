"""Shopify's Admin REST API: ``GET https://{storeDomain}/admin/api/{apiVersion}/orders.json``
with the filters as Shopify names them (``since_id``, ``financial_status``,
``created_at_min``, ...) and ``X-Shopify-Access-Token``. Kestra's plugin waits
``rateLimitDelay`` before each call; Weir calls at once and waits only when Shopify answers
``429``, as ``Retry-After`` says. An error fails the task with Shopify's ``errors``."""

from __future__ import annotations

import os
from typing import Any

from controlplane.engine.runnable import RunContext, runs
from controlplane.spec.plugins.shopify import ShopifyOrdersList
from controlplane.tasks import props
from controlplane.tasks.fetched import fetch_type
from controlplane.tasks.remote import RemoteApi, required, segment

_FILTERS = (
    ("status", "status"),
    ("financialStatus", "financial_status"),
    ("fulfillmentStatus", "fulfillment_status"),
    ("createdAtMin", "created_at_min"),
    ("createdAtMax", "created_at_max"),
    ("updatedAtMin", "updated_at_min"),
    ("updatedAtMax", "updated_at_max"),
)


def _error_text(body: Any) -> str | None:
    """Shopify's ``{"errors": "..."}`` or ``{"errors": {"field": ["..."]}}``."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, dict):
        return "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                         for k, v in errors.items()) or None  # fmt: skip
    return str(errors) if errors else None


def _params(task: ShopifyOrdersList, ctx: RunContext) -> dict[str, str]:
    params: dict[str, str] = {}
    if task.limit is not None:
        params["limit"] = str(props.integer(ctx, task.limit, "limit"))
    if task.sinceId is not None:
        params["since_id"] = str(props.integer(ctx, task.sinceId, "sinceId"))
    for name, param in _FILTERS:
        value = props.optional_text(ctx, getattr(task, name))
        if value:
            params[param] = value
    return params


@runs(ShopifyOrdersList)
def run_orders_list(task: ShopifyOrdersList, ctx: RunContext) -> dict[str, Any]:
    kind = fetch_type(ctx, task.fetchType)
    token = required(ctx, task.accessToken, "accessToken")
    domain = required(ctx, task.storeDomain, "storeDomain")
    base = os.environ.get("SHOPIFY_BASE_URL") or f"https://{domain}"
    version = segment(required(ctx, task.apiVersion, "apiVersion"))
    with RemoteApi(
        ctx,
        "Shopify",
        base,
        headers={"X-Shopify-Access-Token": token},
        secrets=[token],
        error_text=_error_text,
    ) as api:
        answer = api.json("GET", f"/admin/api/{version}/orders.json", params=_params(task, ctx))
        orders = answer.get("orders") if isinstance(answer, dict) else None
        orders = [o for o in orders or [] if isinstance(o, dict)]
        api.info(f"Retrieved {len(orders)} orders from Shopify")
    if kind == "FETCH_ONE":
        orders = orders[:1]
    return {"orders": orders, "count": len(orders)}
