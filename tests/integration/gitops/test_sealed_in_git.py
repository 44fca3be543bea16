"""A sealed secret committed to the source is applied as a secret, and is in sync afterwards."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from controlplane.cli.main import main
from controlplane.client import WeirClient
from controlplane.spec.sealing import SealedSecretFile, dump_sealed_file, key_id, seal
from tests.integration.api.conftest import LiveServer
from tests.integration.gitops.conftest import Repo


def another_server(namespace: str, name: str) -> tuple[str, str]:
    """A key id and a value sealed for a server other than the one under test."""
    public = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return key_id(public), seal(public, namespace, name, "elsewhere")


def test_a_sealed_secret_is_opened_by_the_server_and_then_in_sync(
    repo: Repo, live_server: LiveServer, weir: WeirClient, capsys: pytest.CaptureFixture[str]
) -> None:
    key = weir.secrets.seal_key()
    blob = seal(key.public_key, "sealed.team", "DB_PASSWORD", "s3cret")
    other_key, other_blob = another_server("sealed.team", "DB_PASSWORD")
    sealed = SealedSecretFile(
        "sealed.team", "DB_PASSWORD", {other_key: other_blob, key.key_id: blob}
    )
    repo.write("namespaces/sealed.team/secrets/DB_PASSWORD.yaml", dump_sealed_file(sealed))
    repo.commit()
    args = ["gitops", "apply", "--source", str(repo.root), "--server", live_server.url]
    assert main(args) == 0, capsys.readouterr()
    weir.secrets.set("sealed.team", "PLAIN", "s3cret")
    stored = weir.secrets.get("sealed.team", "DB_PASSWORD")
    assert stored.fingerprint == weir.secrets.get("sealed.team", "PLAIN").fingerprint
    assert stored.managed_by == f"gitops:{repo.root.name}"
    assert "s3cret" not in capsys.readouterr().out

    plan = ["gitops", "plan", "--source", str(repo.root), "--server", live_server.url]
    assert main(plan) == 0
    # Set by hand (forced), the secret no longer comes from the sealed file: drift, restored.
    weir.secrets.set("sealed.team", "DB_PASSWORD", "changed", force=True)
    assert main(plan) == 1
    assert main(args) == 0
    assert weir.secrets.get("sealed.team", "DB_PASSWORD").fingerprint == stored.fingerprint


def test_a_secret_sealed_only_for_another_server_is_an_error_at_its_file(
    repo: Repo, live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    sealed = SealedSecretFile(
        "sealed.other", "TOKEN", dict([another_server("sealed.other", "TOKEN")])
    )
    repo.write("namespaces/sealed.other/secrets/TOKEN.yaml", dump_sealed_file(sealed))
    repo.commit()
    code = main(["gitops", "plan", "--source", str(repo.root), "--server", live_server.url])
    assert code == 2
    out = capsys.readouterr().out
    assert "namespaces/sealed.other/secrets/TOKEN.yaml:1:1: error: " in out
    assert "is not sealed for this server's key" in out
