"""Reads of flows (one flow, a search) answered from memory: never once something they depend on
has changed, whoever changed it (this server, another process on the same database, a revoked
token)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.api import ApiSettings
from controlplane.api.auth import issue_token
from controlplane.store import StoreSettings, open_store
from tests.integration.api.conftest import Api, LiveServer, serve

FLOW = """id: cached
namespace: reads.cache
description: {text}
tasks:
  - id: t
    type: io.kestra.plugin.core.debug.Return
    format: x
"""


def _put(api: Api, text: str) -> int:
    answer = api.put(
        "/flows/reads.cache/cached",
        data=FLOW.format(text=text),
        headers={"Content-Type": "application/x-yaml"},
    )
    assert answer.status_code in (200, 201), answer.text
    revision: int = answer.json()["revision"]
    return revision


def test_a_read_after_a_change_through_the_api_answers_the_new_revision(api: Api) -> None:
    first = _put(api, "one")
    for _ in range(3):  # the same answer, kept after the first
        read = api.get("/flows/reads.cache/cached")
        assert (read.json()["revision"], read.json()["description"]) == (first, "one")
        assert read.headers["ETag"] == f'"{first}"'
    second = _put(api, "two")
    read = api.get("/flows/reads.cache/cached")
    assert (read.json()["revision"], read.json()["description"]) == (second, "two")
    assert read.headers["ETag"] == f'"{second}"'


def test_a_change_by_another_process_on_the_database_is_read(api: Api, api_home: Path) -> None:
    _put(api, "before")
    assert api.get("/flows/reads.cache/cached").json()["description"] == "before"
    other = open_store(StoreSettings(home=api_home))  # as `weir run` on the same home would
    try:
        with other.unit() as repos:
            saved = repos.flows.create_flow_revision(
                "reads.cache", "cached", FLOW.format(text="elsewhere"), None
            )
    finally:
        other.close()
    read = api.get("/flows/reads.cache/cached")
    assert (read.json()["revision"], read.json()["description"]) == (saved.revision, "elsewhere")


def test_a_search_after_a_change_finds_what_changed(api: Api) -> None:
    _put(api, "searched")
    search = "/flows/search?namespace=reads&size=10"
    for _ in range(2):
        assert [f["description"] for f in api.get(search).json()["results"]] == ["searched"]
    _put(api, "changed")
    assert [f["description"] for f in api.get(search).json()["results"]] == ["changed"]
    assert api.delete("/flows/reads.cache/cached").status_code == 204
    assert api.get(search).json() == {"results": [], "total": 0}


def test_a_deleted_flow_is_not_answered(api: Api) -> None:
    _put(api, "doomed")
    assert api.get("/flows/reads.cache/cached").status_code == 200
    assert api.delete("/flows/reads.cache/cached").status_code == 204
    assert api.get("/flows/reads.cache/cached").status_code == 404


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("guarded-reads")
    server = serve(ApiSettings(store=StoreSettings(home=Path(home)), require_tokens=True))
    yield server
    server.stop()


def test_a_revoked_token_is_refused_a_read_it_was_answered_before(guarded: LiveServer) -> None:
    store = guarded.server.config.app.state.store
    record, token = issue_token(store, "reader", "admin")
    api = Api(guarded.url)
    api.headers["Authorization"] = f"Bearer {token}"
    _put(api, "guarded")
    assert api.get("/flows/reads.cache/cached").status_code == 200
    assert api.get("/flows/reads.cache/cached").status_code == 200
    with store.unit() as repos:
        assert repos.tokens.revoke_token(record.id)
    assert api.get("/flows/reads.cache/cached").status_code == 401
