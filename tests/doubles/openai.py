"""OpenAI's Chat Completions API (``POST /v1/chat/completions``).

Answers as the API documents: ``401`` with an ``invalid_api_key`` error object for a missing or
wrong ``Authorization: Bearer`` key, ``400 invalid_request_error`` without ``model`` or
``messages``, else a ``chat.completion`` object with one choice per ``n`` whose content is the
scripted ``replies`` (the last repeating), and token usage counted in words. ``requests`` keeps
the accepted request bodies.
"""

from __future__ import annotations

from typing import Any

from tests.doubles import Received, Reply, ServiceDouble

API_KEY = "sk-test-4f9c2d7b1e8a"


class OpenAIDouble(ServiceDouble):
    def __init__(self) -> None:
        super().__init__()
        self.replies: list[str] = ["Hello from the double"]
        self.requests: list[dict[str, Any]] = []

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def handle(self, request: Received) -> Reply:
        if request.method != "POST" or request.path != "/v1/chat/completions":
            return _error(404, "invalid_request_error", "Unknown request URL", "unknown_url")
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return _error(
                401, "invalid_request_error", "Incorrect API key provided", "invalid_api_key"
            )
        body = request.body
        if not isinstance(body, dict) or not body.get("model") or not body.get("messages"):
            return _error(400, "invalid_request_error", "'model' and 'messages' are required", None)
        with self.lock:
            self.requests.append(body)
            content = self.replies[min(len(self.requests), len(self.replies)) - 1]
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        choices = [
            {
                "index": index,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
            for index in range(int(body.get("n") or 1))
        ]
        completion = len(content.split()) * len(choices)
        return Reply(
            200,
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": 1767225600,
                "model": body["model"],
                "choices": choices,
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion,
                    "total_tokens": prompt_tokens + completion,
                },
            },
        )


def _error(status: int, kind: str, message: str, code: str | None) -> Reply:
    return Reply(status, {"error": {"message": message, "type": kind, "param": None, "code": code}})
