"""Notion pages over the API (``https://api.notion.com/v1``, ``Notion-Version: 2022-06-28``).

``page.Create`` sends ``POST /v1/pages`` with the parent (``page_id``, or the workspace), the
``title`` property and the first 100 blocks of ``content``; the rest follow by
``PATCH /v1/blocks/{page}/children``, 100 at a time (Notion's limit per request), as Kestra's
plugin does. ``page.Update`` changes the title (``PATCH /v1/pages/{page}``) and appends the
content's blocks the same way, then reads the page back (``GET /v1/pages/{page}``) for its
outputs. Markdown becomes blocks in :mod:`controlplane.tasks.notion_blocks`. Page ids are
UUIDs, with or without dashes. An error fails the task with Notion's ``message``.
"""

from __future__ import annotations

import os
import re
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.notion import NotionPageCreate, NotionPageUpdate, _Notion
from controlplane.tasks import props
from controlplane.tasks.notion_blocks import Block, markdown_to_blocks
from controlplane.tasks.remote import RemoteApi, required, timeouts

NOTION_URL = "https://api.notion.com"
VERSION = "2022-06-28"
BATCH = 100
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_HEX = re.compile(r"^[0-9a-f]{32}$")


def _api(task: _Notion, ctx: RunContext) -> RemoteApi:
    token = required(ctx, task.apiToken, "apiToken")
    return RemoteApi(
        ctx,
        "Notion",
        os.environ.get("NOTION_BASE_URL", NOTION_URL),
        headers={"Authorization": f"Bearer {token}", "Notion-Version": VERSION},
        secrets=[token],
        timeout=timeouts(ctx, task.options, 30.0),
    )


def _page_id(value: str, name: str) -> str:
    text = value.strip().lower()
    if _UUID.match(text):
        return text
    if _HEX.match(text):
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    raise TaskFailed(f"'{name}' must be a Notion page id (a UUID), got {value!r}")


def _title_property(title: str) -> dict[str, Any]:
    return {"title": {"title": [{"type": "text", "text": {"content": title}}]}}


def _append(api: RemoteApi, page_id: str, blocks: list[Block]) -> None:
    for start in range(0, len(blocks), BATCH):
        body = {"children": blocks[start : start + BATCH]}
        api.json("PATCH", f"/v1/blocks/{page_id}/children", body=body)


def _page(api: RemoteApi, answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict) or not answer.get("id"):
        raise api.fail("Notion answered without a page")
    return answer


def _title_of(properties: dict[str, Any]) -> str | None:
    prop = properties.get("title") or properties.get("Name") or {}
    parts = prop.get("title") if isinstance(prop, dict) else None
    if not parts or not isinstance(parts[0], dict):
        return None
    text = parts[0].get("plain_text")
    return str(text) if text is not None else None


def _outputs(
    page: dict[str, Any], title: str | None, content: str | None, message: str
) -> dict[str, Any]:
    properties = page.get("properties") or {}
    return {
        "pageId": page.get("id"),
        "url": page.get("url"),
        "title": title if title is not None else _title_of(properties),
        "content": content,
        "createdTime": page.get("created_time"),
        "lastEditedTime": page.get("last_edited_time"),
        "archived": page.get("archived"),
        "properties": properties,
        "message": message,
    }


@runs(NotionPageCreate)
def run_page_create(task: NotionPageCreate, ctx: RunContext) -> dict[str, Any]:
    title = required(ctx, task.title, "title")
    content = props.optional_text(ctx, task.content)
    blocks = markdown_to_blocks(content or "")
    parent_id = props.optional_text(ctx, task.parentPageId)
    parent: dict[str, Any] = (
        {"type": "page_id", "page_id": _page_id(parent_id, "parentPageId")}
        if parent_id and parent_id.strip()
        else {"type": "workspace", "workspace": True}
    )
    body: dict[str, Any] = {"parent": parent, "properties": _title_property(title)}
    if blocks:
        body["children"] = blocks[:BATCH]
    with _api(task, ctx) as api:
        api.info(f"Creating Notion page '{title}'")
        page = _page(api, api.json("POST", "/v1/pages", body=body))
        _append(api, page["id"], blocks[BATCH:])
    return _outputs(page, title, content, "Page created successfully")


@runs(NotionPageUpdate)
def run_page_update(task: NotionPageUpdate, ctx: RunContext) -> dict[str, Any]:
    page_id = _page_id(required(ctx, task.pageId, "pageId"), "pageId")
    title = (props.optional_text(ctx, task.title) or "").strip()
    content = props.optional_text(ctx, task.content) or ""
    if not title and not content.strip():
        raise TaskFailed("Give 'title' or 'content' (or both) to update the page")
    with _api(task, ctx) as api:
        api.info(f"Updating Notion page {page_id}")
        if title:
            body = {"properties": _title_property(title)}
            _page(api, api.json("PATCH", f"/v1/pages/{page_id}", body=body))
            api.info(f"Page title is now '{title}'")
        blocks = markdown_to_blocks(content)
        _append(api, page_id, blocks)
        if blocks:
            api.info(f"Appended {len(blocks)} block(s) to the page")
        page = _page(api, api.json("GET", f"/v1/pages/{page_id}"))
    return _outputs(page, None, content, "Page updated successfully")
