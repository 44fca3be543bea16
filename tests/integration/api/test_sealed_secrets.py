"""Sealed secrets through the API: the server gives its public key, opens what was sealed to it
for the secret of the URL, and records which sealed text the value came from."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from controlplane.api import ApiSettings
from controlplane.api.auth import issue_token
from controlplane.engine.ports import Store
from controlplane.spec.sealing import key_id, seal, sealed_digest
from controlplane.store import StoreSettings
from tests.integration.api.conftest import Api, LiveServer, serve

VALUE = "s3cr3t-Sealed-do-not-leak"


@pytest.fixture
def store(live_server: LiveServer) -> Store:
    found: Store = live_server.server.config.app.state.store
    return found


def public_key(api: Api) -> bytes:
    answer = api.get("/secrets/seal-key")
    assert answer.status_code == 200, answer.text
    return base64.b64decode(answer.json()["public_key"])


def assert_hidden(response: requests.Response) -> None:
    assert VALUE not in response.text
    assert all(VALUE not in f"{k}: {v}" for k, v in response.headers.items())


def test_the_seal_key_is_the_servers_x25519_public_key(api: Api) -> None:
    answer = api.get("/secrets/seal-key")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"key_id", "algorithm", "public_key"}
    raw = base64.b64decode(body["public_key"])
    assert len(raw) == 32
    assert body["key_id"] == key_id(raw)
    assert body["algorithm"] == "X25519-HKDF-SHA256-AES256GCM"
    assert api.get("/secrets/seal-key").json() == body


def test_servers_with_the_same_secret_key_share_the_seal_key(tmp_path: Path) -> None:
    shared, other = os.urandom(32), os.urandom(32)
    keys = []
    for home, key in ((tmp_path / "a", shared), (tmp_path / "b", shared), (tmp_path / "c", other)):
        server = serve(ApiSettings(store=StoreSettings(home=home, secret_key=key)))
        try:
            keys.append(Api(server.url).get("/secrets/seal-key").json()["key_id"])
        finally:
            server.stop()
    assert keys[0] == keys[1] != keys[2]


def test_a_sealed_value_is_opened_for_its_secret_and_its_digest_kept(
    api: Api, store: Store
) -> None:
    blob = seal(public_key(api), "sealed.put", "DB_PASSWORD", VALUE)
    created = api.put("/namespaces/sealed.put/secrets/DB_PASSWORD", json={"sealed": blob})
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"1"'
    meta = created.json()
    assert meta["sealed_digest"] == sealed_digest(blob)
    plain = api.put("/namespaces/sealed.put/secrets/PLAIN", json={"value": VALUE}).json()
    assert meta["fingerprint"] == plain["fingerprint"]
    assert plain["sealed_digest"] is None
    assert api.get("/namespaces/sealed.put/secrets/DB_PASSWORD").json() == meta
    listed = api.get("/namespaces/sealed.put/secrets").json()
    assert [s["sealed_digest"] for s in listed] == [sealed_digest(blob), None]
    with store.unit() as repos:
        assert repos.secrets.read_secret_value("sealed.put", "DB_PASSWORD") == VALUE
    assert_hidden(created)


def test_a_plain_write_clears_the_sealed_digest(api: Api, store: Store) -> None:
    path = "/namespaces/sealed.clear/secrets/TOKEN"
    blob = seal(public_key(api), "sealed.clear", "TOKEN", VALUE)
    assert api.put(path, json={"sealed": blob}).json()["sealed_digest"] == sealed_digest(blob)
    plain = api.put(path, json={"value": "plain"})
    assert (plain.json()["sealed_digest"], plain.json()["revision"]) == (None, 2)
    assert api.get(path).json()["sealed_digest"] is None
    again = seal(public_key(api), "sealed.clear", "TOKEN", VALUE)
    resealed = api.put(path, json={"sealed": again}).json()
    assert (resealed["sealed_digest"], resealed["revision"]) == (sealed_digest(again), 3)
    with store.unit() as repos:
        assert repos.secrets.read_secret_value("sealed.clear", "TOKEN") == VALUE


@pytest.mark.parametrize(
    ("namespace", "name"), [("sealed.moved", "OTHER"), ("sealed.elsewhere", "KEY")]
)
def test_a_value_sealed_for_another_secret_gets_422_and_changes_nothing(
    api: Api, namespace: str, name: str
) -> None:
    blob = seal(public_key(api), "sealed.moved", "KEY", VALUE)
    refused = api.put(f"/namespaces/{namespace}/secrets/{name}", json={"sealed": blob})
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid")
    assert refused.json()["details"] == {"field": "sealed"}
    message = refused.json()["message"]
    assert "sealed for another server, or for another namespace or name" in message
    assert f"weir secret seal --namespace {namespace} --name {name}" in message
    assert_hidden(refused)
    assert api.get(f"/namespaces/{namespace}/secrets/{name}").status_code == 404


def test_a_value_sealed_for_another_server_gets_422(api: Api) -> None:
    stranger = X25519PrivateKey.generate().public_key().public_bytes_raw()
    blob = seal(stranger, "sealed.stranger", "KEY", VALUE)
    refused = api.put("/namespaces/sealed.stranger/secrets/KEY", json={"sealed": blob})
    assert refused.status_code == 422
    assert "sealed for another server" in refused.json()["message"]
    assert api.get("/namespaces/sealed.stranger/secrets/KEY").status_code == 404


def test_exactly_one_of_value_and_sealed_is_accepted(api: Api) -> None:
    path = "/namespaces/sealed.shape/secrets/KEY"
    blob = seal(public_key(api), "sealed.shape", "KEY", VALUE)
    for body in ({"value": VALUE, "sealed": blob}, {}, {"value": None, "sealed": None}):
        refused = api.put(path, json=body)
        assert refused.status_code == 422, body
        assert "exactly one of 'value' (the secret) and 'sealed'" in refused.json()["message"]
        assert_hidden(refused)
    not_sealed = api.put(path, json={"sealed": "not base64!"})
    assert not_sealed.status_code == 422
    problem = not_sealed.json()["details"]["problems"][0]
    assert problem["location"] == ["body", "sealed"]
    assert "not a sealed value: it is not base64 text" in problem["message"]
    too_big = seal(public_key(api), "sealed.shape", "KEY", "x" * (64 * 1024 + 1))
    refused = api.put(path, json={"sealed": too_big})
    assert refused.status_code == 422
    assert "at most 65536 bytes" in refused.json()["message"]
    assert api.get(path).status_code == 404


def test_a_sealed_write_follows_if_match_and_the_manager(api: Api, store: Store) -> None:
    path = "/namespaces/sealed.control/secrets/KEY"
    gitops = {"X-Weir-Manager": "gitops:main"}

    def sealed(value: str) -> dict[str, str]:
        return {"sealed": seal(public_key(api), "sealed.control", "KEY", value)}

    first = api.put(path, json=sealed("first"), headers=gitops)
    assert first.json()["managed_by"] == "gitops:main"
    stale = api.put(path, json=sealed(VALUE), headers={**gitops, "If-Match": '"7"'})
    assert (stale.status_code, stale.json()["code"]) == (409, "revision_mismatch")
    other = api.put(path, json=sealed(VALUE), headers={"X-Weir-Manager": "terraform"})
    assert (other.status_code, other.json()["code"]) == (409, "managed_elsewhere")
    with store.unit() as repos:
        assert repos.secrets.read_secret_value("sealed.control", "KEY") == "first"
    same = api.put(path, json=sealed("second"), headers={**gitops, "If-Match": '"1"'})
    assert (same.status_code, same.json()["revision"]) == (200, 2)
    forced = api.put(path, params={"force": "true"}, json=sealed(VALUE))
    assert (forced.status_code, forced.json()["managed_by"]) == (200, None)
    with store.unit() as repos:
        assert repos.secrets.read_secret_value("sealed.control", "KEY") == VALUE


def test_the_seal_key_needs_a_token_of_any_scope(tmp_path: Path) -> None:
    server = serve(ApiSettings(store=StoreSettings(home=tmp_path), require_tokens=True))
    try:
        store: Store = server.server.config.app.state.store
        _, reader = issue_token(store, "reader", "read", namespaces=["team"])
        anonymous, as_reader = Api(server.url), Api(server.url)
        as_reader.headers["Authorization"] = f"Bearer {reader}"
        assert anonymous.get("/secrets/seal-key").status_code == 401
        found = as_reader.get("/secrets/seal-key")
        assert found.status_code == 200
        blob = seal(base64.b64decode(found.json()["public_key"]), "team.a", "K", VALUE)
        refused = as_reader.put("/namespaces/team.a/secrets/K", json={"sealed": blob})
        assert (refused.status_code, refused.json()["details"]) == (403, {"needed": "write"})
    finally:
        server.stop()
