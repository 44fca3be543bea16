"""n8n's Webhook node (``https://<n8n>/webhook/<path>``, or ``/webhook-test/<path>``).

A webhook listens on one method and path; the call's query, headers and body (JSON, or the
raw bytes of any other content type) reach the workflow, and the workflow's answer comes
back (here: ``answer``, as JSON; ``{"message": "Workflow was started"}`` when none is
set). A path or method no webhook listens on gets 404 with
``{"code": 404, "message": "The requested webhook \\"POST <path>\\" is not registered.",
"hint"}``; a webhook with header authentication refuses a call without its header (403,
"Authorization data is wrong!").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.doubles import Received, Reply, ServiceDouble


@dataclass
class Webhook:
    method: str
    answer: Any = None
    header: tuple[str, str] | None = None


class N8nDouble(ServiceDouble):
    def __init__(self) -> None:
        super().__init__()
        self.webhooks: dict[str, Webhook] = {}
        self.calls: list[Received] = []

    def handle(self, request: Received) -> Reply:
        parts = request.path.strip("/").split("/", 1)
        hook = self.webhooks.get(parts[1]) if len(parts) == 2 else None
        if parts[0] not in ("webhook", "webhook-test") or hook is None:
            return self._unknown(request)
        if hook.method != request.method:
            return self._unknown(request)
        if hook.header and request.headers.get(hook.header[0].lower()) != hook.header[1]:
            return Reply(403, {"code": 403, "message": "Authorization data is wrong!"})
        self.calls.append(request)
        if hook.answer is None:
            return Reply(200, {"message": "Workflow was started"})
        return Reply(200, hook.answer)

    def _unknown(self, request: Received) -> Reply:
        path = request.path.strip("/").split("/", 1)[-1]
        return Reply(404, {
            "code": 404,
            "message": f'The requested webhook "{request.method} {path}" is not registered.',
            "hint": "The workflow must be active for a production URL to run successfully.",
        })  # fmt: skip
