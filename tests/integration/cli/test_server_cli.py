"""``weir server`` refusals and ``weir token``, as a user runs them."""

from __future__ import annotations

import base64
import os
import socket
from pathlib import Path

from controlplane.store import StoreSettings, open_store
from tests.integration.cli.test_run_cli import weir
from tests.processes import Part
from tests.waiting import wait_until


def test_a_public_address_without_tokens_is_refused(tmp_path: Path) -> None:
    refused = weir(tmp_path, "server", "--host", "0.0.0.0", "--auth", "none")
    assert refused.returncode == 2
    assert "Refusing to serve 0.0.0.0 without tokens" in refused.stderr


def test_the_split_roles_need_a_shared_database(tmp_path: Path) -> None:
    for role in ("api", "executor", "scheduler", "worker"):
        refused = weir(tmp_path, "server", role)
        assert refused.returncode == 2
        assert "WEIR_DATABASE_URL" in refused.stderr


def test_a_part_waits_for_its_database_instead_of_failing(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "WEIR_HOME": str(tmp_path),
        "WEIR_DATABASE_URL": f"postgresql://weir@127.0.0.1:{port}/weir",
        "WEIR_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
    }
    for role in ("executor", "scheduler", "worker"):
        part = Part(role, env, tmp_path).start()
        wait_until(
            part.output,
            lambda out, part=part: "trying again" in out or not part.alive,
            f"the {role} to report the unavailable database",
        )
        assert "the database is unavailable" in part.output(), part.output()
        assert part.alive, part.output()
        assert part.stop() == 0, part.output()


def test_an_invalid_flow_to_load_stops_the_server_before_it_serves(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nnamespace: company\ntasks: []\n")
    refused = weir(tmp_path / "home", "server", "--port", "0", "--load", str(bad))
    assert refused.returncode == 1
    assert "Not serving" in refused.stderr and "bad.yaml:3" in refused.stderr


def test_tokens_are_created_listed_and_revoked(tmp_path: Path) -> None:
    created = weir(
        tmp_path, "token", "create", "ci", "--scope", "write", "--namespace", "company.data",
        "--expires-in", "30d",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("weir_")
    again = weir(tmp_path, "token", "create", "ci")
    assert again.returncode == 2 and "exists" in again.stdout
    listed = weir(tmp_path, "token", "list")
    assert "ci" in listed.stdout and "company.data" in listed.stdout and "live" in listed.stdout
    assert secret not in listed.stdout
    store = open_store(StoreSettings(home=tmp_path))
    try:
        with store.unit() as repos:
            (token,) = repos.tokens.list_tokens()
        assert (token.scope, token.namespaces, token.expires is not None) == (
            "write", ("company.data",), True,
        )  # fmt: skip
    finally:
        store.close()
    assert weir(tmp_path, "token", "revoke", "ci").returncode == 0
    assert "revoked" in weir(tmp_path, "token", "list").stdout
    missing = weir(tmp_path, "token", "revoke", "ci")
    assert missing.returncode == 1
