"""Tavily's search API (``POST /search``).

Answers as the API documents: ``Authorization: Bearer <key>`` required (``401`` with a
``detail.error`` otherwise), a ``query`` required (``400``); else one result naming the query,
with ``title``, ``url``, ``content`` and ``score``, and the ``response_time``.
"""

from __future__ import annotations

from tests.doubles import Received, Reply, ServiceDouble

API_KEY = "tvly-test-3b8f0e"


class TavilyDouble(ServiceDouble):
    def handle(self, request: Received) -> Reply:
        if request.method != "POST" or request.path != "/search":
            return Reply(404, {"detail": {"error": "Not Found"}})
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return Reply(401, {"detail": {"error": "Unauthorized: missing or invalid API key."}})
        body = request.body if isinstance(request.body, dict) else {}
        query = body.get("query")
        if not query:
            return Reply(400, {"detail": {"error": "Query is missing."}})
        result = {
            "title": "Kestra 1.1",
            "url": "https://kestra.io/blogs/release-1-1",
            "content": f"Release notes found for {query}",
            "score": 0.9,
        }
        return Reply(200, {"query": query, "results": [result], "response_time": 0.5})
