"""Notion's API (``https://api.notion.com/v1``), its pages and their blocks.

``POST /v1/pages`` with ``parent`` (``{"page_id"}`` of a page shared with the integration, or
``{"workspace": true}``), ``properties`` (``title``) and up to 100 ``children`` blocks creates a
page; ``GET /v1/pages/{id}`` reads one and ``PATCH /v1/pages/{id}`` changes its properties, each
answering the page object (``id``, ``url``, ``created_time``, ``last_edited_time``,
``archived``, ``parent``, ``properties`` with ``plain_text`` filled in);
``PATCH /v1/blocks/{id}/children`` appends up to 100 blocks and answers them as a list.
Requests need the bearer token and a ``Notion-Version`` header. A block must be
``{"object": "block", "type": t, t: {...}}`` with rich-text contents of at most 2,000
characters. Errors are ``{"object": "error", "status", "code", "message"}``: 401
``unauthorized``, 400 ``missing_version`` / ``validation_error``, 404 ``object_not_found``.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from tests.doubles import Received, Reply, ServiceDouble, utc_now


def _error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"object": "error", "status": status, "code": code, "message": message})


class NotionDouble(ServiceDouble):
    def __init__(self, *, token: str = "secret_notion") -> None:
        super().__init__()
        self.token = token
        self.pages: dict[str, dict[str, Any]] = {}
        self.blocks: dict[str, list[dict[str, Any]]] = {}

    def add_page(self, title: str) -> str:
        page_id = str(uuid.uuid4())
        self._store(page_id, {"type": "workspace", "workspace": True}, title)
        return page_id

    def handle(self, request: Received) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, "unauthorized", "API token is invalid.")
        if not request.headers.get("notion-version"):
            return _error(400, "missing_version", "Notion-Version header failed validation.")
        parts, method = request.path.strip("/").split("/"), request.method
        body = request.body or {}
        if parts == ["v1", "pages"] and method == "POST":
            return self._create(body)
        if len(parts) == 3 and parts[:2] == ["v1", "pages"] and method in ("GET", "PATCH"):
            page = self.pages.get(parts[2])
            if page is None:
                return self._missing(parts[2])
            if method == "PATCH":
                title = _plain_title(body.get("properties") or {})
                if title is not None:
                    page["properties"] = _title_property(title)
                page["last_edited_time"] = utc_now()
            return Reply(200, copy.deepcopy(page))
        if (
            len(parts) == 4
            and parts[1] == "blocks"
            and parts[3] == "children"
            and method == "PATCH"
        ):
            if parts[2] not in self.pages:
                return self._missing(parts[2])
            return self._append(parts[2], body.get("children") or [])
        return _error(400, "invalid_request_url", "Invalid request URL.")

    def _missing(self, page_id: str) -> Reply:
        return _error(404, "object_not_found", f"Could not find page with ID: {page_id}. Make "
                      "sure the relevant pages and databases are shared with your integration.")  # fmt: skip

    def _create(self, body: dict[str, Any]) -> Reply:
        parent = body.get("parent") or {}
        if "page_id" in parent and parent["page_id"] not in self.pages:
            return self._missing(parent["page_id"])
        title = _plain_title(body.get("properties") or {})
        if title is None:
            return _error(400, "validation_error", "body.properties.title should be defined.")
        invalid = _invalid(body.get("children") or [])
        if invalid:
            return invalid
        page_id = str(uuid.uuid4())
        page = self._store(page_id, parent, title)
        self.blocks[page_id] = list(body.get("children") or [])
        return Reply(200, copy.deepcopy(page))

    def _store(self, page_id: str, parent: dict[str, Any], title: str) -> dict[str, Any]:
        now = utc_now()
        slug = "-".join(title.split()) + "-" + page_id.replace("-", "")
        self.pages[page_id] = {
            "object": "page", "id": page_id, "created_time": now, "last_edited_time": now,
            "archived": False, "parent": parent, "url": f"https://www.notion.so/{slug}",
            "properties": _title_property(title),
        }  # fmt: skip
        self.blocks.setdefault(page_id, [])
        return self.pages[page_id]

    def _append(self, page_id: str, children: list[dict[str, Any]]) -> Reply:
        invalid = _invalid(children)
        if invalid:
            return invalid
        self.blocks[page_id] += children
        return Reply(200, {"object": "list", "results": children, "has_more": False})


def _title_property(title: str) -> dict[str, Any]:
    text = {"type": "text", "text": {"content": title, "link": None}, "plain_text": title}
    return {"title": {"id": "title", "type": "title", "title": [text]}}


def _plain_title(properties: dict[str, Any]) -> str | None:
    parts = (properties.get("title") or {}).get("title")
    if not parts:
        return None
    return "".join(part["text"]["content"] for part in parts)


def _invalid(blocks: list[dict[str, Any]]) -> Reply | None:
    if len(blocks) > 100:
        return _error(400, "validation_error",
                      f"body.children.length should be ≤ `100`, instead was `{len(blocks)}`.")  # fmt: skip
    for index, block in enumerate(blocks):
        kind = block.get("type")
        if block.get("object") != "block" or not isinstance(block.get(kind), dict):
            return _error(400, "validation_error", f"body.children[{index}] is not a block.")
        for text in block[kind].get("rich_text") or []:
            if len(text["text"]["content"]) > 2000:
                return _error(400, "validation_error",
                              f"body.children[{index}].{kind}.rich_text[0].text.content.length "
                              "should be ≤ `2000`.")  # fmt: skip
    return None
