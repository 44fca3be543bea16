"""Bearer tokens: scopes, namespace prefixes, revocation and expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from controlplane.api import ApiSettings
from controlplane.api.auth import issue_token
from controlplane.engine.model import now
from controlplane.engine.ports import Store
from controlplane.store import StoreSettings
from tests.integration.api.conftest import Api, LiveServer, serve


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("guarded")
    server = serve(ApiSettings(store=StoreSettings(home=Path(home)), require_tokens=True))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def store(guarded: LiveServer) -> Store:
    found: Store = guarded.server.config.app.state.store
    return found


def session(server: LiveServer, token: str | None) -> Api:
    api = Api(server.url)
    if token is not None:
        api.headers["Authorization"] = f"Bearer {token}"
    return api


def test_no_token_or_an_unknown_one_gets_401_but_health_answers(guarded: LiveServer) -> None:
    anonymous = session(guarded, None)
    refused = anonymous.get("/namespaces")
    assert refused.status_code == 401
    assert "weir token create" in refused.json()["message"]
    assert session(guarded, "weir_not-a-token").get("/namespaces").status_code == 401
    assert anonymous.get("/health").status_code == 200


def test_scopes_nest_read_then_write_then_admin(guarded: LiveServer, store: Store) -> None:
    _, admin = issue_token(store, "scope-admin", "admin")
    _, reader = issue_token(store, "scope-reader", "read")
    assert session(guarded, admin).put("/namespaces/scoped", json={}).status_code == 201
    read_only = session(guarded, reader)
    assert read_only.get("/namespaces/scoped").status_code == 200
    refused = read_only.put("/namespaces/scoped", json={"description": "no"})
    assert refused.status_code == 403
    assert refused.json()["details"] == {"needed": "admin"}
    assert session(guarded, admin).get("/namespaces/scoped").json()["description"] is None


def test_a_namespace_limited_token_learns_nothing_outside(
    guarded: LiveServer, store: Store
) -> None:
    _, admin = issue_token(store, "prefix-admin", "admin")
    _, team = issue_token(store, "prefix-team", "admin", namespaces=["team.a"])
    for name in ("team.a", "team.a.etl", "team.b", "team.ab"):
        assert session(guarded, admin).put(f"/namespaces/{name}", json={}).ok
    limited = session(guarded, team)
    listed = limited.get("/namespaces", params={"prefix": "team"}).json()
    assert [n["name"] for n in listed["results"]] == ["team.a", "team.a.etl"]
    assert listed["total"] == 2
    existing = limited.get("/namespaces/team.b")
    missing = limited.get("/namespaces/team.zzz")
    assert existing.status_code == missing.status_code == 403
    assert existing.json()["code"] == missing.json()["code"] == "forbidden"
    assert limited.put("/namespaces/team.a.new", json={}).status_code == 201
    assert limited.put("/namespaces/team.ab", json={}).status_code == 403


def test_revoked_and_expired_tokens_are_refused(guarded: LiveServer, store: Store) -> None:
    record, secret = issue_token(store, "to-revoke", "read")
    assert session(guarded, secret).get("/namespaces").status_code == 200
    with store.unit() as repos:
        assert repos.tokens.revoke_token(record.id)
    assert session(guarded, secret).get("/namespaces").status_code == 401
    _, old = issue_token(store, "expired", "read", expires=now() - timedelta(seconds=1))
    assert session(guarded, old).get("/namespaces").status_code == 401


def test_tokens_are_stored_hashed(store: Store) -> None:
    record, secret = issue_token(store, "hashed", "write")
    with store.unit() as repos:
        (stored,) = [t for t in repos.tokens.list_tokens() if t.id == record.id]
    assert secret.startswith("weir_") and len(secret) > 40
    assert secret not in repr(stored) and stored.digest != secret
