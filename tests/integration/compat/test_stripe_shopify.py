"""Stripe's balance.Retrieve and Shopify's orders.List against local doubles of their APIs,
with kestra-io/blueprints' ``daily-shopify-stripe-summary`` flow run as written (Notion and
Slack answered by their doubles)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from controlplane.engine.model import State
from tests.doubles.notion import NotionDouble
from tests.doubles.shopify import ShopifyDouble
from tests.doubles.slack import SlackDouble
from tests.doubles.stripe import StripeDouble
from tests.integration.compat.conftest import Flows

STRIPE_KEY = "sk_test_51Hx9aZ0kEyQ7vB2"
SHOPIFY_TOKEN = "shpat_0a1b2c3d4e5f"
NOTION_TOKEN = "secret_notion_77aa"
PAGE_ID = "12345678-1234-1234-1234-123456789abc"

# kestra-io/blueprints flows/daily-shopify-stripe-summary.yml without its documentation.
DAILY_SUMMARY = """
id: daily-shopify-stripe-summary
namespace: company.team

tasks:
  - id: get_balance
    type: io.kestra.plugin.stripe.balance.Retrieve
    apiKey: "{{ secret('STRIPE_API_KEY') }}"

  - id: list_orders
    type: io.kestra.plugin.shopify.orders.List
    storeDomain: my-store.myshopify.com
    accessToken: "{{ secret('SHOPIFY_ACCESS_TOKEN') }}"

  - id: update_notion
    type: io.kestra.plugin.notion.page.Update
    apiToken: "{{ secret('NOTION_API_TOKEN') }}"
    pageId: "12345678-1234-1234-1234-123456789abc"
    content: |
      # Daily Update

      Stripe balance:
      {{ outputs.get_balance }}

      Shopify orders:
      {{ outputs.list_orders }}

  - id: send_slack_message
    type: io.kestra.plugin.slack.notifications.SlackIncomingWebhook
    url: "{{ secret('SLACK_WEBHOOK') }}"
    messageText: "Daily update completed for flow {{ flow.namespace }}.{{ flow.id }} (execution {{ execution.id }})"

triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 0 * * *"
"""

ORDERS = [
    {"id": 450789469, "name": "#1001", "total_price": "199.00", "currency": "EUR",
     "financial_status": "paid", "fulfillment_status": None, "closed_at": None,
     "cancelled_at": None},
    {"id": 450789470, "name": "#1002", "total_price": "12.50", "currency": "EUR",
     "financial_status": "pending", "fulfillment_status": None, "closed_at": None,
     "cancelled_at": None},
    {"id": 450789471, "name": "#1003", "total_price": "40.00", "currency": "EUR",
     "financial_status": "paid", "fulfillment_status": "fulfilled",
     "closed_at": "2026-12-01T10:00:00Z", "cancelled_at": None},
]  # fmt: skip


@pytest.fixture
def stripe(flows: Flows, monkeypatch: pytest.MonkeyPatch) -> Iterator[StripeDouble]:
    with StripeDouble(key=STRIPE_KEY) as double:
        monkeypatch.setenv("STRIPE_BASE_URL", double.url)
        double.available = [{"amount": 125000, "currency": "eur"}]
        double.pending = [{"amount": 4200, "currency": "eur"}]
        yield double


@pytest.fixture
def shopify(flows: Flows, monkeypatch: pytest.MonkeyPatch) -> Iterator[ShopifyDouble]:
    with ShopifyDouble(token=SHOPIFY_TOKEN) as double:
        monkeypatch.setenv("SHOPIFY_BASE_URL", double.url)
        double.orders = [dict(order) for order in ORDERS]
        yield double


def _outputs(final: Any) -> dict[str, Any]:
    return {r.task_id: r.outputs for r in final.task_runs}


def test_the_daily_summary_blueprint_reads_stripe_and_shopify_into_notion(
    flows: Flows,
    stripe: StripeDouble,
    shopify: ShopifyDouble,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with NotionDouble(token=NOTION_TOKEN) as notion, SlackDouble() as slack:
        monkeypatch.setenv("NOTION_BASE_URL", notion.url)
        notion.pages[PAGE_ID] = {"object": "page", "id": PAGE_ID, "properties": {},
                                 "url": "https://www.notion.so/Daily-123"}  # fmt: skip
        notion.blocks[PAGE_ID] = []
        with flows.store.unit() as repos:
            for name, value in (
                ("STRIPE_API_KEY", STRIPE_KEY),
                ("SHOPIFY_ACCESS_TOKEN", SHOPIFY_TOKEN),
                ("NOTION_API_TOKEN", NOTION_TOKEN),
                ("SLACK_WEBHOOK", slack.webhook_url),
            ):
                repos.secrets.update_secret("company.team", name, value)
        final = flows.run(DAILY_SUMMARY)
        assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
        blocks = notion.blocks[PAGE_ID]
        assert "Daily update completed for flow company.team." in slack.messages[0]["text"]
    outputs = _outputs(final)
    balance = outputs["get_balance"]
    assert balance["available"] == [{"currency": "eur", "amount": 125000}]
    assert balance["pending"] == [{"currency": "eur", "amount": 4200}]
    assert balance["raw"]["object"] == "balance"
    orders = outputs["list_orders"]
    assert orders["count"] == 2  # open orders, Shopify's default status filter
    assert [o["name"] for o in orders["orders"]] == ["#1001", "#1002"]
    texts = ["".join(t["text"]["content"] for t in b[b["type"]]["rich_text"]) for b in blocks]
    assert texts[0] == "Daily Update"
    assert "125000" in texts[1] and "#1001" in texts[2]
    logs = flows.logs(final)
    assert all(STRIPE_KEY not in line and SHOPIFY_TOKEN not in line for line in logs)


def test_filters_and_refusals(flows: Flows, stripe: StripeDouble, shopify: ShopifyDouble) -> None:
    final = flows.run(
        f"""
id: commerce-filters
namespace: company.team
tasks:
  - id: paid
    type: io.kestra.plugin.shopify.orders.List
    storeDomain: my-store.myshopify.com
    accessToken: {SHOPIFY_TOKEN}
    status: any
    financialStatus: paid
    sinceId: 450789469
    fetchType: FETCH_ONE
  - id: too_many
    type: io.kestra.plugin.shopify.orders.List
    allowFailure: true
    storeDomain: my-store.myshopify.com
    accessToken: {SHOPIFY_TOKEN}
    limit: 500
  - id: wrong_key
    type: io.kestra.plugin.stripe.balance.Retrieve
    apiKey: sk_test_wrong_key_0000
"""
    )
    assert final.state is State.FAILED
    outputs = _outputs(final)
    assert outputs["paid"] == {"orders": [shopify.orders[2]], "count": 1}
    errors = flows.logs(final, "ERROR")
    assert any(
        "Shopify API error 400 on GET /admin/api/2024-10/orders.json: limit: must be less than "
        "or equal to 250" in e
        for e in errors
    ), errors
    assert any(
        "Stripe API error 401 on GET /v1/balance: Invalid API Key provided" in e for e in errors
    ), errors
    assert all("sk_test_wrong_key_0000" not in line for line in flows.logs(final))
