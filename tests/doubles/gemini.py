"""Google's Gemini API (``POST /v1beta/models/{model}:generateContent`` and
``:batchEmbedContents``).

Answers as the API documents: ``x-goog-api-key`` required (``400 INVALID_ARGUMENT`` "API key
not valid" otherwise), a ``contents`` list required, at most 100 texts per embedding batch; a ``GenerateContentResponse`` with one
candidate whose parts are the scripted ``replies`` (the last repeating: a text, or a mapping
``{"functionCall": {"name", "args"}}``), ``usageMetadata`` counted in words. Embeddings are
:func:`tests.doubles.openai.embedding` of each request's text. ``requests`` keeps the
generateContent bodies, ``embedded`` the texts embedded.
"""

from __future__ import annotations

import re
from typing import Any

from tests.doubles import Received, Reply, ServiceDouble
from tests.doubles.openai import embedding

API_KEY = "AIza-test-7c1e9b2d"
_PATH = re.compile(r"^/v1beta/models/([^/:]+):(generateContent|batchEmbedContents)$")


class GeminiDouble(ServiceDouble):
    def __init__(self) -> None:
        super().__init__()
        self.replies: list[str | dict[str, Any]] = ["Hello from Gemini"]
        self.requests: list[dict[str, Any]] = []
        self.embedded: list[str] = []

    @property
    def base_url(self) -> str:
        return self.url + "/v1beta"

    def handle(self, request: Received) -> Reply:
        found = _PATH.match(request.path)
        if request.method != "POST" or found is None:
            return _error(404, "NOT_FOUND", f"{request.path} is not found")
        if request.headers.get("x-goog-api-key") != API_KEY:
            return _error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid key.")
        model, method = found.groups()
        body = request.body if isinstance(request.body, dict) else {}
        if method == "batchEmbedContents":
            texts = [r["content"]["parts"][0]["text"] for r in body.get("requests") or []]
            if not texts:
                return _error(400, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests")
            if len(texts) > 100:
                return _error(400, "INVALID_ARGUMENT", "at most 100 requests can be in one batch")
            self.embedded.extend(texts)
            return Reply(200, {"embeddings": [{"values": embedding(t)} for t in texts]})
        if not body.get("contents"):
            return _error(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: required")
        self.requests.append(body)
        scripted = self.replies[min(len(self.requests), len(self.replies)) - 1]
        part = {"text": scripted} if isinstance(scripted, str) else scripted
        prompt = sum(
            len(str(p.get("text", "")).split()) for c in body["contents"] for p in c["parts"]
        )
        output = len(str(part.get("text", "")).split())
        return Reply(
            200,
            {
                "candidates": [
                    {"content": {"role": "model", "parts": [part]}, "finishReason": "STOP"}
                ],
                "usageMetadata": {
                    "promptTokenCount": prompt,
                    "candidatesTokenCount": output,
                    "totalTokenCount": prompt + output,
                },
                "modelVersion": model,
                "responseId": f"resp-{len(self.requests)}",
            },
        )


def _error(status: int, kind: str, message: str) -> Reply:
    return Reply(status, {"error": {"code": status, "message": message, "status": kind}})
