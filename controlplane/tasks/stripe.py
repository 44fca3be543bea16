"""Stripe's API (``https://api.stripe.com``): ``GET /v1/balance`` with the secret key as a
bearer token. Kestra's plugin calls it through Stripe's Java library; the answer and the
outputs are the same. An error fails the task with Stripe's ``error.message``."""

from __future__ import annotations

import os
from typing import Any

from controlplane.engine.runnable import RunContext, runs
from controlplane.spec.plugins.stripe import StripeBalanceRetrieve
from controlplane.tasks.remote import RemoteApi, required

STRIPE_URL = "https://api.stripe.com"


def _error_text(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    message, code = error.get("message"), error.get("code") or error.get("type")
    return f"{message} ({code})" if message and code else message or code


def _money(entries: Any) -> list[dict[str, Any]]:
    return [
        {"currency": entry.get("currency"), "amount": entry.get("amount")}
        for entry in entries or []
        if isinstance(entry, dict)
    ]


@runs(StripeBalanceRetrieve)
def run_balance_retrieve(task: StripeBalanceRetrieve, ctx: RunContext) -> dict[str, Any]:
    key = required(ctx, task.apiKey, "apiKey")
    with RemoteApi(
        ctx,
        "Stripe",
        os.environ.get("STRIPE_BASE_URL", STRIPE_URL),
        headers={"Authorization": f"Bearer {key}"},
        secrets=[key],
        error_text=_error_text,
    ) as api:
        balance = api.json("GET", "/v1/balance")
        if not isinstance(balance, dict):
            raise api.fail("Stripe answered without a balance")
        api.info(f"Stripe balance retrieved ({len(balance.get('available') or [])} currencies)")
    return {
        "available": _money(balance.get("available")),
        "pending": _money(balance.get("pending")),
        "raw": balance,
    }
