"""KV pairs through the API: every type, inferred types, time to live, and the control-plane
rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from controlplane.engine.model import now
from controlplane.engine.ports import Store
from tests.integration.api.conftest import Api, LiveServer
from tests.waiting import wait_until


@pytest.fixture
def store(live_server: LiveServer) -> Store:
    found: Store = live_server.server.config.app.state.store
    return found


@pytest.mark.parametrize(
    ("key", "sent", "kind", "answered"),
    [
        ("t1", "hello", "STRING", "hello"),
        ("t2", 42, "NUMBER", 42),
        ("t3", 2.5, "NUMBER", 2.5),
        ("t4", True, "BOOLEAN", True),
        ("t5", "2025-01-31T08:00:00Z", "DATETIME", "2025-01-31T08:00:00+00:00"),
        ("t6", "2025-01-31T09:00:00+01:00", "DATETIME", "2025-01-31T09:00:00+01:00"),
        ("t7", "2025-01-31", "DATE", "2025-01-31"),
        ("t8", "PT1H30M", "DURATION", "PT1H30M"),
        ("t9", "P2DT0.5S", "DURATION", "P2DT0.5S"),
        ("t10", {"a": [1, "b", None]}, "JSON", {"a": [1, "b", None]}),
        ("t11", "plain text", "JSON", "plain text"),
    ],
)
def test_every_type_is_kept_and_answered_in_json_form(
    api: Api, store: Store, key: str, sent: Any, kind: str, answered: Any
) -> None:
    created = api.put(f"/namespaces/kv.types/kv/{key}", json={"value": sent, "type": kind})
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"1"'
    pair = created.json()
    assert (pair["type"], pair["value"], pair["expires"]) == (kind, answered, None)
    assert api.get(f"/namespaces/kv.types/kv/{key}").json() == pair
    with store.unit() as repos:
        entry = repos.kv.read_kv("kv.types", key)
    assert entry is not None and entry.type == kind


@pytest.mark.parametrize(
    ("key", "sent", "kind"),
    [
        ("i1", "2025-01-31", "STRING"),
        ("i2", True, "BOOLEAN"),
        ("i3", 0, "NUMBER"),
        ("i4", -1.25, "NUMBER"),
        ("i5", {"x": 1}, "JSON"),
        ("i6", [1, 2], "JSON"),
        ("i7", [], "JSON"),
    ],
)
def test_the_type_is_inferred_from_the_json_value(api: Api, key: str, sent: Any, kind: str) -> None:
    pair = api.put(f"/namespaces/kv.inferred/kv/{key}", json={"value": sent}).json()
    assert (pair["type"], pair["value"]) == (kind, sent)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"value": "12", "type": "NUMBER"}, "value"),
        ({"value": 1, "type": "BOOLEAN"}, "value"),
        ({"value": True, "type": "NUMBER"}, "value"),
        ({"value": 3, "type": "STRING"}, "value"),
        ({"value": "2025-01-31T08:00:00", "type": "DATETIME"}, "value"),
        ({"value": "2025-01-31T08:00:00Z", "type": "DATE"}, "value"),
        ({"value": "an hour", "type": "DURATION"}, "value"),
        ({"value": "P99999999999D", "type": "DURATION"}, "value"),
        ({"value": None}, "value"),
        ({"value": "x", "type": "TEXT"}, "type"),
        ({"value": "x", "ttl": "an hour"}, "ttl"),
        ({"value": "x", "ttl": "-PT1H"}, "ttl"),
        ({"value": "x", "ttl": "P99999999999D"}, "ttl"),
        ({"value": "x", "extra": 1}, "extra"),
    ],
)
def test_a_value_not_of_its_type_gets_422_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    refused = api.put("/namespaces/kv.refused/kv/key", json=body)
    assert refused.status_code == 422, refused.text
    answer = refused.json()
    assert answer["code"] == "invalid"
    assert answer["details"]["problems"][0]["location"] == ["body", field]
    assert answer["message"].startswith(f"{field}:") or f".{field}:" in answer["message"]
    assert api.get("/namespaces/kv.refused/kv/key").status_code == 404


def test_values_json_cannot_hold_are_refused(api: Api) -> None:
    for raw in (b'{"value": NaN}', b'{"value": ["\\u0000"]}', b'{"value": {"\\ud800": 1}}'):
        refused = api.put(
            "/namespaces/kv.refused/kv/key", data=raw, headers={"Content-Type": "application/json"}
        )
        assert refused.status_code == 422, raw
    deep = {"value": [[[[[[[[[[1]]]]]]]]]]}
    for _ in range(10):
        deep = {"value": [[[[[[[[deep]]]]]]]]}
    assert api.put("/namespaces/kv.refused/kv/deep", json=deep).status_code == 422


def test_a_ttl_sets_the_expiry_and_an_expired_pair_is_gone(api: Api, store: Store) -> None:
    hour = api.put("/namespaces/kv.ttl/kv/hour", json={"value": "x", "ttl": "PT1H"}).json()
    lifetime = datetime.fromisoformat(hour["expires"]) - datetime.fromisoformat(hour["updated"])
    assert timedelta(minutes=59) < lifetime <= timedelta(hours=1)
    with store.unit() as repos:
        repos.kv.update_kv("kv.ttl", "expired", 1, "NUMBER", now() - timedelta(seconds=1))
    assert api.get("/namespaces/kv.ttl/kv/expired").status_code == 404
    assert api.delete("/namespaces/kv.ttl/kv/expired").status_code == 404
    short = api.put("/namespaces/kv.ttl/kv/short", json={"value": "x", "ttl": "PT0.3S"})
    assert short.status_code == 201
    wait_until(
        lambda: api.get("/namespaces/kv.ttl/kv/short").status_code,
        lambda status: status == 404,
        "the pair to expire",
    )
    listed = api.get("/namespaces/kv.ttl/kv").json()
    assert [p["key"] for p in listed] == ["hour"]
    recreated = api.put("/namespaces/kv.ttl/kv/short", json={"value": 1}, headers={"If-Match": "0"})
    assert (recreated.status_code, recreated.json()["expires"]) == (201, None)


def test_the_list_holds_metadata_only(api: Api) -> None:
    api.put("/namespaces/kv.list/kv/b", json={"value": "secret-ish", "type": "STRING"})
    api.put("/namespaces/kv.list/kv/a.1_x-y", json={"value": {"k": 1}})
    api.put("/namespaces/kv.list.child/kv/c", json={"value": 3})
    listed = api.get("/namespaces/kv.list/kv")
    assert [p["key"] for p in listed.json()] == ["a.1_x-y", "b"]
    assert all(
        set(p) == {"namespace", "key", "type", "expires", "managed_by", "revision", "updated"}
        for p in listed.json()
    )
    assert "secret-ish" not in listed.text


def test_keys_follow_kestras_rule(api: Api) -> None:
    assert api.put("/namespaces/kv.keys/kv/Key.with_all-3", json={"value": 1}).status_code == 201
    for bad in (".dot", "-dash", "_under", "with space", "x" * 256):
        assert api.put(f"/namespaces/kv.keys/kv/{bad}", json={"value": 1}).status_code == 422, bad
    assert api.put("/namespaces/kv.keys/kv/a/b", json={"value": 1}).status_code == 404


def test_a_stale_if_match_gets_409_and_changes_nothing(api: Api) -> None:
    path = "/namespaces/kv.revision/kv/key"
    api.put(path, json={"value": "first"})
    stale = api.put(path, json={"value": "second"}, headers={"If-Match": '"3"'})
    assert (stale.status_code, stale.json()["code"]) == (409, "revision_mismatch")
    assert api.put(path, json={"value": "second"}, headers={"If-Match": "0"}).status_code == 409
    assert api.delete(path, headers={"If-Match": '"2"'}).status_code == 409
    assert api.get(path).json()["value"] == "first"
    fresh = api.put(path, json={"value": "second"}, headers={"If-Match": '"1"'})
    assert (fresh.status_code, fresh.headers["ETag"], fresh.json()["value"]) == (
        200,
        '"2"',
        "second",
    )


def test_a_pair_managed_elsewhere_is_read_only_unless_forced(api: Api) -> None:
    path = "/namespaces/kv.managed/kv/key"
    gitops = {"X-Weir-Manager": "gitops:main"}
    api.put(path, json={"value": "by gitops"}, headers=gitops)
    refused = api.put(path, json={"value": "by hand"})
    assert (refused.status_code, refused.json()["code"]) == (409, "managed_elsewhere")
    assert refused.json()["details"]["managed_by"] == "gitops:main"
    assert api.delete(path, headers={"X-Weir-Manager": "terraform"}).status_code == 409
    assert api.get(path).json()["value"] == "by gitops"
    assert api.put(path, json={"value": "again"}, headers=gitops).status_code == 200
    forced = api.put(path, params={"force": "true"}, json={"value": "by hand"})
    assert (forced.status_code, forced.json()["managed_by"]) == (200, None)
    assert api.delete(path).status_code == 204
