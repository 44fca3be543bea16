"""Notion (``io.kestra.plugin.notion.page.*``): create a page, or change a page's title and
append to it, with ``content`` written in Markdown; authenticated by an integration's
``apiToken``. ``NOTION_BASE_URL`` in the worker's environment moves the API (Kestra's plugin
reads the ``notion.api.base.url`` system property)."""

from __future__ import annotations

from typing import Any

from controlplane.spec.fields import Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_PAGE = "io.kestra.plugin.notion.page"


class _Notion(TaskSpec):
    apiToken: Text
    options: dict[str, Any] | None = None


@task(f"{_PAGE}.Create")
class NotionPageCreate(_Notion):
    """Create a page titled ``title`` under ``parentPageId`` (the workspace without one), its
    body ``content``. Outputs ``pageId``, ``url``, ``title``, ``content``, ``createdTime``,
    ``lastEditedTime``, ``archived``, ``properties`` and ``message``."""

    title: Text
    content: Text | None = None
    parentPageId: Text | None = None


@task(f"{_PAGE}.Update")
class NotionPageUpdate(_Notion):
    """Give page ``pageId`` a new ``title`` and/or append ``content`` at its bottom (at least
    one of them). Outputs as ``Create`` does, read back from the page."""

    pageId: Text
    title: Text | None = None
    content: Text | None = None
