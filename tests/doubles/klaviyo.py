"""Klaviyo's API (``https://a.klaviyo.com/api``), the JSON:API reads of campaigns.

``GET /campaigns/{id}``, ``GET /campaign-recipient-estimations/{id}`` and
``GET /campaign-send-jobs/{id}`` answer ``{"data": {"type", "id", "attributes", "links"}}``
(a campaign's ``name``, ``status``, ``send_strategy`` ...; an estimation's
``estimated_recipient_count``; a send job's ``status``: queued, processing, complete,
cancelled). Requests need ``Authorization: Klaviyo-API-Key <key>`` and a ``revision`` header.
Errors are ``{"errors": [{"id", "status", "code", "title", "detail", "source"}]}``: 401
``not_authenticated``, 400 ``invalid`` without a revision, 404 ``not_found``; ``trigger_faults``
answer instead of the next read (a 429 with ``Retry-After``, for instance).
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.doubles import Received, Reply, ServiceDouble

_TYPES = {
    "campaigns": "campaign",
    "campaign-recipient-estimations": "campaign-recipient-estimation",
    "campaign-send-jobs": "campaign-send-job",
}


def error(status: int, code: str, title: str, detail: str) -> Reply:
    body = {"id": str(uuid.uuid4()), "status": status, "code": code, "title": title,
            "detail": detail, "source": {"pointer": "/data/"}}  # fmt: skip
    return Reply(status, {"errors": [body]})


class KlaviyoDouble(ServiceDouble):
    def __init__(self, *, key: str = "pk_test") -> None:
        super().__init__()
        self.key = key
        self.objects: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in _TYPES}

    def add(self, collection: str, object_id: str, **attributes: Any) -> None:
        self.objects[collection][object_id] = attributes

    def handle(self, request: Received) -> Reply:
        if request.headers.get("authorization") != f"Klaviyo-API-Key {self.key}":
            return error(401, "not_authenticated", "Authentication credentials were not provided.",
                         "Missing or invalid private key.")  # fmt: skip
        if not request.headers.get("revision"):
            return error(400, "invalid", "Invalid input.", "A revision header is required.")
        parts = request.path.strip("/").split("/")
        if request.method != "GET" or len(parts) != 3 or parts[0] != "api":
            return error(404, "not_found", "Not found.", f"No route for {request.path}")
        fault = self.take(self.trigger_faults)
        if fault is not None:
            return fault
        collection, object_id = parts[1], parts[2]
        found = self.objects.get(collection, {}).get(object_id)
        if found is None:
            kind = _TYPES.get(collection, collection)
            return error(404, "not_found", "Not found.",
                         f"A {kind} with id {object_id} does not exist.")  # fmt: skip
        link = f"https://a.klaviyo.com/api/{collection}/{object_id}/"
        data = {"type": _TYPES[collection], "id": object_id, "attributes": found,
                "links": {"self": link}}  # fmt: skip
        return Reply(200, {"data": data})
