"""Stripe's API (``https://api.stripe.com``), the balance.

``GET /v1/balance`` answers the Balance object (``object: "balance"``, ``available`` and
``pending`` lists of ``{"amount", "currency", "source_types"}``, ``livemode``). The secret key
comes as a bearer token (or as basic authentication's user); a wrong one gets 401 with
``{"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: ..."}}``,
the key shown masked, as Stripe does.
"""

from __future__ import annotations

import base64
from typing import Any

from tests.doubles import Received, Reply, ServiceDouble


class StripeDouble(ServiceDouble):
    def __init__(self, *, key: str = "sk_test_123") -> None:
        super().__init__()
        self.key = key
        self.available: list[dict[str, Any]] = [{"amount": 0, "currency": "usd"}]
        self.pending: list[dict[str, Any]] = [{"amount": 0, "currency": "usd"}]

    def _key(self, request: Received) -> str:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            return header[len("Bearer ") :]
        if header.startswith("Basic "):
            return base64.b64decode(header[len("Basic ") :]).decode().split(":", 1)[0]
        return ""

    def handle(self, request: Received) -> Reply:
        key = self._key(request)
        if key != self.key:
            shown = key[:8] + "*" * 8 + key[-4:] if len(key) > 12 else "****"
            error = {
                "type": "invalid_request_error",
                "message": f"Invalid API Key provided: {shown}",
            }
            return Reply(401, {"error": error})
        if request.method != "GET" or request.path != "/v1/balance":
            error = {"type": "invalid_request_error",
                     "message": f"Unrecognized request URL ({request.method}: {request.path})."}  # fmt: skip
            return Reply(404, {"error": error})

        def money(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{**e, "source_types": {"card": e["amount"]}} for e in entries]

        return Reply(200, {"object": "balance", "available": money(self.available),
                           "pending": money(self.pending), "livemode": False})  # fmt: skip
