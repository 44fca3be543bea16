"""Namespaces through the API, and the control-plane rules on them."""

from __future__ import annotations

from tests.integration.api.conftest import Api


def test_a_namespace_is_created_read_listed_and_deleted(api: Api) -> None:
    created = api.put("/namespaces/acme.data", json={"description": "Data", "labels": {"a": "b"}})
    assert created.status_code == 201
    assert created.headers["ETag"] == '"1"'
    assert created.json() == {
        "name": "acme.data",
        "parent": "acme",
        "description": "Data",
        "variables": {},
        "labels": {"a": "b"},
        "managed_by": None,
        "revision": 1,
        "allowed_namespaces": [],
    }
    replaced = api.put(
        "/namespaces/acme.data",
        json={"variables": {"region": "eu"}, "allowed_namespaces": ["acme.web", "*"]},
    )
    assert (replaced.status_code, replaced.json()["revision"]) == (200, 2)
    assert replaced.json()["allowed_namespaces"] == ["acme.web", "*"]
    invalid = api.put("/namespaces/acme.data", json={"allowed_namespaces": ["Not A Namespace"]})
    assert invalid.status_code == 422
    api.put("/namespaces/acme.data.raw", json={})
    api.put("/namespaces/acmecorp", json={})
    listed = api.get("/namespaces", params={"prefix": "acme"}).json()
    assert [n["name"] for n in listed["results"]] == ["acme.data", "acme.data.raw"]
    assert api.delete("/namespaces/acme.data.raw").status_code == 204
    assert api.get("/namespaces/acme.data.raw").json()["code"] == "not_found"


def test_a_stale_if_match_gets_409_and_changes_nothing(api: Api) -> None:
    api.put("/namespaces/rev.check", json={"description": "first"})
    stale = api.put(
        "/namespaces/rev.check", json={"description": "second"}, headers={"If-Match": '"7"'}
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "revision_mismatch"
    assert api.get("/namespaces/rev.check").json()["description"] == "first"
    fresh = api.put(
        "/namespaces/rev.check", json={"description": "second"}, headers={"If-Match": '"1"'}
    )
    assert (fresh.status_code, fresh.json()["revision"]) == (200, 2)
    exists = api.put("/namespaces/rev.check", json={}, headers={"If-Match": "0"})
    assert exists.status_code == 409


def test_an_object_managed_by_another_manager_is_read_only_unless_forced(api: Api) -> None:
    tf = {"X-Weir-Manager": "terraform"}
    api.put("/namespaces/managed.ns", json={"description": "by tf"}, headers=tf)
    refused = api.put(
        "/namespaces/managed.ns", json={"description": "by hand"}, headers={"X-Weir-Manager": "me"}
    )
    assert refused.status_code == 409
    assert refused.json()["details"]["managed_by"] == "terraform"
    assert "terraform" in refused.json()["message"]
    assert api.delete("/namespaces/managed.ns").status_code == 409
    assert api.get("/namespaces/managed.ns").json()["description"] == "by tf"
    assert api.put("/namespaces/managed.ns", json={"description": "tf"}, headers=tf).ok
    forced = api.put("/namespaces/managed.ns", params={"force": "true"}, json={})
    assert forced.ok and forced.json()["managed_by"] is None


def test_a_refused_namespace_delete_names_what_still_lives_there(api: Api) -> None:
    flow = "id: left\nnamespace: held.ns\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    assert api.put("/namespaces/held.ns", json={}).ok
    assert api.post("/flows", data=flow, headers={"Content-Type": "application/x-yaml"}).ok
    for key in ("a", "b", "c", "d", "e", "f", "g"):
        tf = {"X-Weir-Manager": "terraform"}
        assert api.put(f"/namespaces/held.ns/kv/{key}", json={"value": 1}, headers=tf).ok
    refused = api.delete("/namespaces/held.ns")
    assert (refused.status_code, refused.json()["code"]) == (409, "namespace_not_empty")
    assert refused.json()["message"] == (
        "namespace held.ns still holds 1 flow: held.ns/left; 7 KV pairs: "
        "a (managed by terraform), b (managed by terraform), c (managed by terraform), "
        "d (managed by terraform), e (managed by terraform) and 2 more; delete them first"
    )
    contents = refused.json()["details"]["contents"]
    assert contents["flows"] == [{"name": "held.ns/left", "managed_by": None}]
    assert [k["name"] for k in contents["KV pairs"]] == list("abcdefg")
    assert refused.json()["details"]["holds"] == ["1 flow", "7 KV pairs"]


def test_a_create_over_an_existing_object_says_who_manages_it(api: Api) -> None:
    api.put("/namespaces/exists.ns", json={}, headers={"X-Weir-Manager": "gitops:main"})
    again = api.put("/namespaces/exists.ns", json={}, headers={"If-Match": "0"})
    assert again.status_code == 409
    assert again.json()["details"] == {"revision": 1, "managed_by": "gitops:main"}


def test_bad_requests_get_4xx_with_a_stable_body(api: Api) -> None:
    unknown = api.put("/namespaces/bad.req", json={"descriptio": "typo"})
    assert unknown.status_code == 422
    assert unknown.json()["details"]["problems"][0]["location"] == ["body", "descriptio"]
    malformed = api.put(
        "/namespaces/bad.req", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert (malformed.status_code, malformed.json()["code"]) == (400, "malformed")
    wrong_name = api.get("/namespaces/Not A Name")
    assert wrong_name.status_code == 422
    assert set(wrong_name.json()) == {"code", "message", "details"}
    huge = api.put("/namespaces/bad.req", data=b"x" * (101 * 1024 * 1024))
    assert (huge.status_code, huge.json()["code"]) == (413, "payload_too_large")
    streamed = api.put("/namespaces/bad.req", data=(b"x" * 1024 * 1024 for _ in range(101)))
    assert (streamed.status_code, streamed.json()["code"]) == (413, "payload_too_large")


def test_namespace_names_are_dotted_parts_that_cannot_alias_each_other(api: Api) -> None:
    for name in ("a..b", "a.", "a._files", "a.-x", "A.b"):
        refused = api.put(f"/namespaces/{name}", json={})
        assert refused.status_code == 422, name
    assert api.put("/namespaces/a-1.b_2.c", json={}).status_code == 201
