"""Anthropic's Messages API (``POST /v1/messages``).

Answers as the API documents: ``x-api-key`` required (``401 authentication_error``),
``anthropic-version`` required (``400 invalid_request_error``), ``model``, ``max_tokens`` and
``messages`` required (``400``); else a ``message`` whose content is the scripted ``replies``
(the last repeating): a text becomes a ``text`` block (stop reason ``end_turn``), a mapping
``{"tool_use": {"name", "input"}}`` a ``tool_use`` block (stop reason ``tool_use``). Usage is
counted in words. ``bodies`` keeps the accepted request bodies.
"""

from __future__ import annotations

from typing import Any

from tests.doubles import Received, Reply, ServiceDouble

API_KEY = "sk-ant-test-5e2a91c0"


class AnthropicDouble(ServiceDouble):
    def __init__(self) -> None:
        super().__init__()
        self.replies: list[str | dict[str, Any]] = ["Hello from Claude"]
        self.bodies: list[dict[str, Any]] = []

    def handle(self, request: Received) -> Reply:
        if request.method != "POST" or request.path != "/v1/messages":
            return _error(404, "not_found_error", "Not found")
        if request.headers.get("x-api-key") != API_KEY:
            return _error(401, "authentication_error", "invalid x-api-key")
        if request.headers.get("anthropic-version") != "2023-06-01":
            return _error(400, "invalid_request_error", "anthropic-version: header is required")
        body = request.body if isinstance(request.body, dict) else {}
        if not body.get("model") or not body.get("max_tokens") or not body.get("messages"):
            return _error(400, "invalid_request_error", "model, max_tokens and messages: required")
        self.bodies.append(body)
        number = len(self.bodies)
        scripted = self.replies[min(number, len(self.replies)) - 1]
        if isinstance(scripted, str):
            block: dict[str, Any] = {"type": "text", "text": scripted}
            stop = "end_turn"
        else:
            block = {"type": "tool_use", "id": f"toolu_{number}", **scripted["tool_use"]}
            stop = "tool_use"
        said = sum(len(str(m["content"]).split()) for m in body["messages"])
        return Reply(
            200,
            {
                "id": f"msg_{number}",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [block],
                "stop_reason": stop,
                "usage": {
                    "input_tokens": said,
                    "output_tokens": len(block.get("text", "").split()),
                },
            },
        )


def _error(status: int, kind: str, message: str) -> Reply:
    return Reply(status, {"type": "error", "error": {"type": kind, "message": message}})
