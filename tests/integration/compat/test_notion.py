"""Notion page.Create and page.Update against a local double of Notion's API, with
kestra-io/blueprints' ``apify-to-notion`` flow run as written (Apify answered by its double)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from controlplane.engine.model import State
from tests.doubles.apify import ApifyDouble
from tests.doubles.notion import NotionDouble
from tests.integration.compat.conftest import Flows

TOKEN = "secret_Nt0kEn1a2b3c4d5e6f"
APIFY_TOKEN = "apify_api_9f8e7d6c"

# kestra-io/blueprints flows/apify-to-notion.yaml without its documentation.
APIFY_TO_NOTION = """
id: apify-to-notion
namespace: company.team

tasks:
  - id: run_actor
    type: io.kestra.plugin.apify.actor.Run
    actorId: GdWCkxBtKWOsKjdch
    maxItems: 1
    apiToken: "{{ secret('APIFY_API_TOKEN') }}"
    input:
      excludePinnedPosts: false
      hashtags: ["fyp"]
      resultsPerPage: 2

  - id: get_dataset
    type: io.kestra.plugin.apify.dataset.Get
    apiToken: "{{ secret('APIFY_API_TOKEN') }}"
    datasetId: "{{ outputs.run_actor.defaultDatasetId }}"

  - id: update_page
    type: io.kestra.plugin.notion.page.Update
    apiToken: "{{ secret('NOTION_API_TOKEN') }}"
    pageId: "{{ secret('NOTION_PAGE_ID') }}"
    content: |
      # Weekly Apify Scrape Result

      Actor run:
      {{ outputs.run_actor }}

      Dataset:
      {{ outputs.get_dataset }}
"""


@pytest.fixture
def notion(flows: Flows, monkeypatch: pytest.MonkeyPatch) -> Iterator[NotionDouble]:
    with NotionDouble(token=TOKEN) as double:
        monkeypatch.setenv("NOTION_BASE_URL", double.url)
        with flows.store.unit() as repos:
            repos.secrets.update_secret("company.team", "NOTION_API_TOKEN", TOKEN)
        yield double


def _texts(block: dict[str, Any]) -> str:
    return "".join(t["text"]["content"] for t in block[block["type"]]["rich_text"])


def test_the_apify_to_notion_blueprint_appends_the_scrape_to_the_page(
    flows: Flows, notion: NotionDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    page_id = notion.add_page("Weekly scrape")
    with ApifyDouble(token=APIFY_TOKEN) as apify:
        monkeypatch.setenv("APIFY_BASE_URL", apify.url + "/v2")
        apify.add_actor("GdWCkxBtKWOsKjdch", [{"text": "#fyp video", "diggCount": 12}])
        with flows.store.unit() as repos:
            repos.secrets.update_secret("company.team", "APIFY_API_TOKEN", APIFY_TOKEN)
            repos.secrets.update_secret("company.team", "NOTION_PAGE_ID", page_id.replace("-", ""))
        final = flows.run(APIFY_TO_NOTION)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert apify.runs[0]["input"] == {
        "excludePinnedPosts": False,
        "hashtags": ["fyp"],
        "resultsPerPage": 2,
    }
    blocks = notion.blocks[page_id]
    assert blocks[0]["type"] == "heading_1"
    assert _texts(blocks[0]) == "Weekly Apify Scrape Result"
    assert [b["type"] for b in blocks[1:]] == ["paragraph", "paragraph"]
    assert _texts(blocks[1]).startswith("Actor run:\n{")
    assert "diggCount" in _texts(blocks[2])
    update = {r.task_id: r.outputs for r in final.task_runs}["update_page"]
    # The page id came from a secret: it is masked in the outputs.
    assert update["pageId"] == "********"
    assert update["title"] == "Weekly scrape"
    assert update["url"] == "https://www.notion.so/Weekly-scrape-********"
    assert update["message"] == "Page updated successfully"
    assert all(TOKEN not in line and APIFY_TOKEN not in line for line in flows.logs(final))


def test_a_long_page_is_created_in_batches_with_its_markdown_as_blocks(
    flows: Flows, notion: NotionDouble
) -> None:
    parent = notion.add_page("Reports")
    items = "\n".join(f"      - item {n}" for n in range(150))
    final = flows.run(
        f"""
id: notion-create
namespace: company.team
tasks:
  - id: page
    type: io.kestra.plugin.notion.page.Create
    apiToken: "{{{{ secret('NOTION_API_TOKEN') }}}}"
    parentPageId: "{parent}"
    title: Daily report
    content: |
      # Summary

      Rows **loaded**: 42, see [the run](https://example.com/run/1).

      - [ ] check the totals

      ```sql
      select 1
      ```

      {"x" * 2500}

{items}
  - id: retitle
    type: io.kestra.plugin.notion.page.Update
    apiToken: "{{{{ secret('NOTION_API_TOKEN') }}}}"
    pageId: "{{{{ outputs.page.pageId }}}}"
    title: Daily report (final)
"""
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    page_id = outputs["page"]["pageId"]
    assert notion.pages[page_id]["parent"] == {"type": "page_id", "page_id": parent}
    assert outputs["page"]["title"] == "Daily report"
    blocks = notion.blocks[page_id]
    assert [b["type"] for b in blocks[:5]] == [
        "heading_1",
        "paragraph",
        "to_do",
        "code",
        "paragraph",
    ]
    loaded = blocks[1]["paragraph"]["rich_text"]
    assert [(t["text"]["content"], t["annotations"]["bold"]) for t in loaded[:3]] == [
        ("Rows ", False),
        ("loaded", True),
        (": 42, see ", False),
    ]
    assert loaded[3]["text"]["link"] == {"url": "https://example.com/run/1"}
    assert blocks[2]["to_do"]["checked"] is False
    assert blocks[3]["code"]["language"] == "sql"
    assert [len(t["text"]["content"]) for t in blocks[4]["paragraph"]["rich_text"]] == [2000, 500]
    assert len(blocks) == 155
    assert _texts(blocks[-1]) == "item 149"
    # 100 blocks with the page, the other 55 appended in one more request.
    appends = notion.requests_to("PATCH", f"/v1/blocks/{page_id}/children")
    assert [len(r.body["children"]) for r in appends] == [55]
    assert outputs["retitle"]["title"] == "Daily report (final)"


def test_notion_refusals_name_the_page_and_the_fix(flows: Flows, notion: NotionDouble) -> None:
    final = flows.run(
        """
id: notion-errors
namespace: company.team
tasks:
  - id: not_an_id
    type: io.kestra.plugin.notion.page.Update
    allowFailure: true
    apiToken: "{{ secret('NOTION_API_TOKEN') }}"
    pageId: my-page
    content: hello
  - id: not_shared
    type: io.kestra.plugin.notion.page.Update
    apiToken: "{{ secret('NOTION_API_TOKEN') }}"
    pageId: 0f1e2d3c4b5a69788796a5b4c3d2e1f0
    title: New title
"""
    )
    assert final.state is State.FAILED
    errors = flows.logs(final, "ERROR")
    assert any("'pageId' must be a Notion page id (a UUID), got 'my-page'" in e for e in errors)
    assert any(
        "Notion API error 404 on PATCH /v1/pages/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0: "
        "Could not find page with ID"
        in e
        and "shared with your integration" in e
        for e in errors
    ), errors
