"""Slack's incoming webhooks.

``POST /services/{team}/{bot}/{token}`` with a JSON message answers ``200 ok`` (text). Errors are
short text codes with a 4xx status: ``404 no_service`` for a webhook that does not exist (or a
wrong token), ``400 invalid_payload`` for a body that is not a JSON object, ``400 no_text`` for
a message without ``text``, ``blocks`` or ``attachments``; a rate-limited caller gets ``429``
with ``Retry-After`` (script it with ``trigger_faults``). ``messages`` keeps the accepted
messages in order.
"""

from __future__ import annotations

from typing import Any

from tests.doubles import Received, Reply, ServiceDouble

TEAM, BOT = "T0AAA0AAA", "B0BBB0BBB"
TOKEN = "xq7ZrT2mWc9LpV4sKd8NbY3h"


class SlackDouble(ServiceDouble):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[dict[str, Any]] = []

    @property
    def path(self) -> str:
        return f"/services/{TEAM}/{BOT}/{TOKEN}"

    @property
    def webhook_url(self) -> str:
        return self.url + self.path

    def handle(self, request: Received) -> Reply:
        if request.method != "POST" or request.path != self.path:
            return _text(404, "no_service")
        fault = self.take(self.trigger_faults)
        if fault is not None:
            return fault
        body = request.body
        if not isinstance(body, dict):
            return _text(400, "invalid_payload")
        if not any(body.get(key) for key in ("text", "blocks", "attachments")):
            return _text(400, "no_text")
        self.messages.append(body)
        return _text(200, "ok")


def _text(status: int, text: str) -> Reply:
    return Reply(status, text.encode())


def rate_limited(retry_after: str) -> Reply:
    return Reply(429, b"rate_limited", {"Retry-After": retry_after})
