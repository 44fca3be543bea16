"""The client on a server that requires tokens: the bearer token reaches it, and a refusal is
an error that says why without repeating the token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.api import ApiSettings
from controlplane.api.auth import issue_token
from controlplane.client import Forbidden, Unauthorized, WeirClient
from controlplane.engine.ports import Store
from controlplane.store import StoreSettings
from tests.integration.api.conftest import LiveServer, serve


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


def test_the_token_from_the_environment_is_sent_as_a_bearer(
    guarded: LiveServer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, admin = issue_token(store, "client-admin", "admin")
    monkeypatch.setenv("WEIR_URL", guarded.url)
    monkeypatch.setenv("WEIR_TOKEN", admin)
    with WeirClient() as weir:
        assert weir.namespaces.put("tokens.ns").name == "tokens.ns"
    with WeirClient(token="") as anonymous, pytest.raises(Unauthorized) as refused:
        anonymous.namespaces.get("tokens.ns")
    assert "Authorization: Bearer" in refused.value.message
    assert anonymous.health() == {"status": "ok"}


def test_a_token_without_the_scope_is_forbidden_and_never_repeated(
    guarded: LiveServer, store: Store
) -> None:
    _, admin = issue_token(store, "reader-admin", "admin")
    with WeirClient(guarded.url, admin) as weir:
        weir.namespaces.put("tokens.read")
        weir.namespaces.put("elsewhere")
    _, reader = issue_token(store, "client-reader", "read", namespaces=["tokens"])
    with WeirClient(guarded.url, reader) as weir:
        assert "tokens.read" in [n.name for n in weir.namespaces.list().results]
        assert "elsewhere" not in [n.name for n in weir.namespaces.list().results]
        with pytest.raises(Forbidden) as refused:
            weir.secrets.set("tokens.read", "password", "s3cr3t-value")
    assert refused.value.details == {"needed": "write"}
    assert reader not in str(refused.value) and "s3cr3t-value" not in str(refused.value)
