"""Secrets through the API: values go in and never come out, not even in errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from controlplane.api import ApiSettings
from controlplane.api.auth import issue_token
from controlplane.engine.ports import Store
from controlplane.store import StoreSettings
from tests.integration.api.conftest import Api, LiveServer, serve

VALUE = "s3cr3t-Pa55w0rd-do-not-leak"


@pytest.fixture
def store(live_server: LiveServer) -> Store:
    found: Store = live_server.server.config.app.state.store
    return found


def assert_hidden(response: requests.Response, value: str = VALUE) -> None:
    assert value not in response.text
    assert all(value not in f"{k}: {v}" for k, v in response.headers.items())


def test_a_secret_is_set_listed_read_and_deleted_without_its_value(api: Api, store: Store) -> None:
    created = api.put("/namespaces/sec.crud/secrets/DB_PASSWORD", json={"value": VALUE})
    assert created.status_code == 201
    assert created.headers["ETag"] == '"1"'
    meta = created.json()
    assert set(meta) == {
        "namespace",
        "name",
        "fingerprint",
        "managed_by",
        "revision",
        "updated",
        "sealed_digest",
    }
    assert (meta["namespace"], meta["name"], meta["revision"]) == ("sec.crud", "DB_PASSWORD", 1)
    api.put("/namespaces/sec.crud/secrets/api.key-2", json={"value": "other"})
    listed = api.get("/namespaces/sec.crud/secrets")
    assert [s["name"] for s in listed.json()] == ["DB_PASSWORD", "api.key-2"]
    read = api.get("/namespaces/sec.crud/secrets/DB_PASSWORD")
    assert (read.json(), read.headers["ETag"]) == (meta, '"1"')
    for response in (created, listed, read):
        assert_hidden(response)
    with store.unit() as repos:
        assert repos.secrets.read_secret_value("sec.crud", "DB_PASSWORD") == VALUE
    assert api.delete("/namespaces/sec.crud/secrets/DB_PASSWORD").status_code == 204
    gone = api.get("/namespaces/sec.crud/secrets/DB_PASSWORD")
    assert (gone.status_code, gone.json()["code"]) == (404, "not_found")
    assert api.delete("/namespaces/sec.crud/secrets/DB_PASSWORD").status_code == 404


def test_the_fingerprint_follows_the_value_and_tells_nothing(api: Api) -> None:
    path = "/namespaces/sec.fingerprint/secrets/TOKEN"
    first = api.put(path, json={"value": VALUE}).json()
    same = api.put(path, json={"value": VALUE}).json()
    changed = api.put(path, json={"value": VALUE + "!"}).json()
    assert first["fingerprint"] == same["fingerprint"] != changed["fingerprint"]
    assert [first["revision"], same["revision"], changed["revision"]] == [1, 2, 3]
    assert VALUE not in changed["fingerprint"]


def test_a_stale_if_match_gets_409_and_keeps_the_old_value(api: Api, store: Store) -> None:
    path = "/namespaces/sec.revision/secrets/KEY"
    api.put(path, json={"value": "old"})
    stale = api.put(path, json={"value": VALUE}, headers={"If-Match": '"5"'})
    assert (stale.status_code, stale.json()["code"]) == (409, "revision_mismatch")
    assert stale.json()["details"] == {"revision": 1, "managed_by": None}
    assert_hidden(stale)
    taken = api.put(path, json={"value": VALUE}, headers={"If-Match": "0"})
    assert taken.status_code == 409
    assert_hidden(taken)
    with store.unit() as repos:
        assert repos.secrets.read_secret_value("sec.revision", "KEY") == "old"
    assert api.get(path).json()["revision"] == 1
    fresh = api.put(path, json={"value": VALUE}, headers={"If-Match": '"1"'})
    assert (fresh.status_code, fresh.json()["revision"]) == (200, 2)
    assert api.delete(path, headers={"If-Match": '"1"'}).status_code == 409
    assert api.delete(path, headers={"If-Match": '"2"'}).status_code == 204


def test_a_secret_managed_elsewhere_is_read_only_unless_forced(api: Api, store: Store) -> None:
    path = "/namespaces/sec.managed/secrets/KEY"
    tf = {"X-Weir-Manager": "terraform"}
    assert api.put(path, json={"value": "by-tf"}, headers=tf).json()["managed_by"] == "terraform"
    refused = api.put(path, json={"value": VALUE}, headers={"X-Weir-Manager": "me"})
    assert (refused.status_code, refused.json()["code"]) == (409, "managed_elsewhere")
    assert refused.json()["details"]["managed_by"] == "terraform"
    assert "force=true" in refused.json()["message"]
    assert_hidden(refused)
    assert api.delete(path).status_code == 409
    with store.unit() as repos:
        assert repos.secrets.read_secret_value("sec.managed", "KEY") == "by-tf"
    forced = api.put(path, params={"force": "true"}, json={"value": VALUE}, headers={})
    assert (forced.status_code, forced.json()["managed_by"]) == (200, None)
    assert_hidden(forced)
    with store.unit() as repos:
        assert repos.secrets.read_secret_value("sec.managed", "KEY") == VALUE


def test_refused_values_are_never_repeated(api: Api) -> None:
    path = "/namespaces/sec.invalid/secrets/KEY"
    unknown = api.put(path, json={"value": VALUE, "valeu": VALUE})
    assert unknown.status_code == 422
    assert unknown.json()["details"]["problems"][0]["location"] == ["body", "valeu"]
    too_big = api.put(path, json={"value": VALUE * 3000})
    assert (too_big.status_code, too_big.json()["code"]) == (422, "invalid")
    wide = api.put(path, json={"value": "é" * 40_000})
    assert wide.status_code == 422 and "bytes" in wide.json()["message"]
    surrogate = api.put(
        path,
        data=b'{"value": "' + VALUE.encode() + b'\\ud800"}',
        headers={"Content-Type": "application/json"},
    )
    assert surrogate.status_code == 422
    not_text = api.put(path, json={"value": 12345})
    assert not_text.status_code == 422
    broken = api.put(
        path, data=b'{"value": "' + VALUE.encode(), headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    for response in (unknown, too_big, surrogate, broken):
        assert_hidden(response)
    assert "12345" not in not_text.text
    assert "é" not in wide.text
    assert api.get("/namespaces/sec.invalid/secrets").json() == []


def test_secret_names_follow_the_pattern(api: Api) -> None:
    assert api.put("/namespaces/sec.names/secrets/_under.score-1", json={"value": "x"}).ok
    for bad in (".hidden", "-dash", "with space", "x" * 201):
        refused = api.put(f"/namespaces/sec.names/secrets/{bad}", json={"value": VALUE})
        assert refused.status_code == 422, bad
        assert_hidden(refused)


def test_reading_needs_read_and_writing_needs_write_on_the_namespace(tmp_path: Path) -> None:
    server = serve(ApiSettings(store=StoreSettings(home=tmp_path), require_tokens=True))
    try:
        store: Store = server.server.config.app.state.store
        _, reader = issue_token(store, "reader", "read")
        _, writer = issue_token(store, "writer", "write", namespaces=["team"])
        as_reader, as_writer = Api(server.url), Api(server.url)
        as_reader.headers["Authorization"] = f"Bearer {reader}"
        as_writer.headers["Authorization"] = f"Bearer {writer}"
        assert as_writer.put("/namespaces/team.a/secrets/K", json={"value": VALUE}).ok
        refused = as_reader.put("/namespaces/team.a/secrets/K", json={"value": "x"})
        assert (refused.status_code, refused.json()["details"]) == (403, {"needed": "write"})
        assert as_reader.get("/namespaces/team.a/secrets/K").ok
        assert as_writer.put("/namespaces/other/secrets/K", json={"value": "x"}).status_code == 403
        assert as_writer.get("/namespaces/other/secrets").status_code == 403
        assert as_reader.delete("/namespaces/team.a/secrets/K").status_code == 403
    finally:
        server.stop()
