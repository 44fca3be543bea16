"""OpenAI's Chat Completions and Embeddings APIs (``POST /v1/chat/completions``,
``POST /v1/embeddings``).

Answers as the API documents: ``401`` with an ``invalid_api_key`` error object for a missing or
wrong ``Authorization: Bearer`` key, ``400 invalid_request_error`` without ``model`` or
``messages`` (``input`` for embeddings), else a ``chat.completion`` object with one choice per
``n`` whose message is the scripted ``replies`` (the last repeating): a text is the content, a
mapping ``{"tool_calls": [{"name", "arguments"}]}`` an assistant message calling those tools
(finish reason ``tool_calls``). Token usage is counted in words. An embedding is a vector of
:data:`DIMENSIONS` word counts hashed by word, so texts sharing words are near. ``requests``
keeps the accepted chat request bodies, ``embedded`` the texts embedded.
"""

from __future__ import annotations

import json
import re
import zlib
from typing import Any

from tests.doubles import Received, Reply, ServiceDouble

API_KEY = "sk-test-4f9c2d7b1e8a"
DIMENSIONS = 16


def embedding(text: str) -> list[float]:
    """The double's embedding of a text: its lower-case words counted into hashed buckets."""
    vector = [0.0] * DIMENSIONS
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vector[zlib.crc32(word.encode()) % DIMENSIONS] += 1.0
    return vector


class OpenAIDouble(ServiceDouble):
    def __init__(self) -> None:
        super().__init__()
        self.replies: list[str | dict[str, Any]] = ["Hello from the double"]
        self.requests: list[dict[str, Any]] = []
        self.embedded: list[str] = []

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def handle(self, request: Received) -> Reply:
        known = ("/v1/chat/completions", "/v1/embeddings")
        if request.method != "POST" or request.path not in known:
            return _error(404, "invalid_request_error", "Unknown request URL", "unknown_url")
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return _error(
                401, "invalid_request_error", "Incorrect API key provided", "invalid_api_key"
            )
        if request.path == "/v1/embeddings":
            return self._embeddings(request.body)
        body = request.body
        if not isinstance(body, dict) or not body.get("model") or not body.get("messages"):
            return _error(400, "invalid_request_error", "'model' and 'messages' are required", None)
        with self.lock:
            self.requests.append(body)
            scripted = self.replies[min(len(self.requests), len(self.replies)) - 1]
        message, finish = _message(scripted, len(self.requests))
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        choices = [
            {"index": index, "message": message, "finish_reason": finish}
            for index in range(int(body.get("n") or 1))
        ]
        completion = len(str(message.get("content") or "").split()) * len(choices)
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

    def _embeddings(self, body: Any) -> Reply:
        if not isinstance(body, dict) or not body.get("model") or not body.get("input"):
            return _error(400, "invalid_request_error", "'model' and 'input' are required", None)
        texts = [body["input"]] if isinstance(body["input"], str) else list(body["input"])
        with self.lock:
            self.embedded.extend(texts)
        tokens = sum(len(t.split()) for t in texts)
        data = [
            {"object": "embedding", "index": i, "embedding": embedding(t)}
            for i, t in enumerate(texts)
        ]
        return Reply(
            200,
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )


def _message(scripted: str | dict[str, Any], number: int) -> tuple[dict[str, Any], str]:
    if isinstance(scripted, str):
        return {"role": "assistant", "content": scripted}, "stop"
    calls = [
        {
            "id": f"call_{number}_{index}",
            "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])},
        }
        for index, call in enumerate(scripted["tool_calls"])
    ]
    return {"role": "assistant", "content": None, "tool_calls": calls}, "tool_calls"


def _error(status: int, kind: str, message: str, code: str | None) -> Reply:
    return Reply(status, {"error": {"message": message, "type": kind, "param": None, "code": code}})
