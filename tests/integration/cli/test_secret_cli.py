"""``weir secret seal`` and ``seal-key`` as a user runs them, against the real ``weir server
standalone`` process; what they write is applied with the client, and the server's fingerprint
of the opened value shows that it opened exactly what was sealed."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from controlplane.client import Invalid, WeirClient
from controlplane.spec.sealing import (
    SealedSecretFile,
    dump_sealed_file,
    key_id,
    read_sealed_file,
    seal,
    sealed_digest,
)
from tests.standalone import WEIR, standalone

VALUE = "s3cret-Cli-do-not-leak"
NS = "cli.sealed"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("standalone")
    env = {**os.environ, "WEIR_HOME": str(home)}
    env.pop("WEIR_DATABASE_URL", None)
    with standalone(env, home) as (url, output):
        yield url
    assert VALUE not in "".join(output)


@pytest.fixture
def client(server: str) -> Iterator[WeirClient]:
    with WeirClient(server, retries=0) as found:
        yield found


def weir(
    *args: str, stdin: bytes = b"", cwd: Path, url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WEIR_URL": url or "http://127.0.0.1:1"}
    env.pop("WEIR_TOKEN", None)
    done = subprocess.run(
        [WEIR, "secret", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        env=env,
        cwd=cwd,
        check=False,
    )
    out, err = done.stdout.decode(), done.stderr.decode()
    assert VALUE not in out + err
    return subprocess.CompletedProcess(done.args, done.returncode, out, err)


def test_a_value_sealed_by_the_cli_opens_on_the_server_as_the_same_value(
    server: str, client: WeirClient, tmp_path: Path
) -> None:
    sealed = weir(
        "seal", "--namespace", NS, "--name", "DB_PASSWORD", "--server", server,
        stdin=VALUE.encode(), cwd=tmp_path,
    )  # fmt: skip
    assert sealed.returncode == 0, sealed.stderr
    assert sealed.stdout.startswith("# Sealed with `weir secret seal`")
    found = read_sealed_file(sealed.stdout, "<stdout>")
    server_key = client.secrets.seal_key()
    assert (found.namespace, found.name, list(found.sealed)) == (
        NS, "DB_PASSWORD", [server_key.key_id],
    )  # fmt: skip
    blob = found.for_key(server_key.key_id)
    applied = client.secrets.set_sealed(NS, "DB_PASSWORD", blob)
    plain = client.secrets.set(NS, "PLAIN", VALUE)
    assert applied.fingerprint == plain.fingerprint
    assert applied.sealed_digest == sealed_digest(blob)
    assert plain.sealed_digest is None
    assert client.secrets.get(NS, "DB_PASSWORD").sealed_digest == sealed_digest(blob)


def test_set_puts_the_value_read_from_standard_input_on_the_server(
    server: str, client: WeirClient, tmp_path: Path
) -> None:
    done = weir(
        "set", "--namespace", NS, "--name", "API_KEY", "--server", server,
        stdin=VALUE.encode(), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Set secret API_KEY of namespace cli.sealed" in done.stderr
    assert client.secrets.get(NS, "API_KEY").fingerprint == (
        client.secrets.set(NS, "SAME", VALUE).fingerprint
    )
    empty = weir("set", "--namespace", NS, "--name", "EMPTY", "--server", server, cwd=tmp_path)
    assert empty.returncode == 1 and "nothing to set" in empty.stderr


def test_the_value_is_kept_exactly_with_its_newline(
    server: str, client: WeirClient, tmp_path: Path
) -> None:
    sealed = weir(
        "seal", "--namespace", NS, "--name", "NEWLINE", "--server", server,
        stdin=(VALUE + "\n").encode(), cwd=tmp_path,
    )  # fmt: skip
    assert sealed.returncode == 0
    assert "ends with a newline" in sealed.stderr and "printf %s" in sealed.stderr
    blob = read_sealed_file(sealed.stdout, "f").for_key(client.secrets.seal_key().key_id)
    applied = client.secrets.set_sealed(NS, "NEWLINE", blob)
    assert applied.fingerprint == client.secrets.set(NS, "PLAIN_NL", VALUE + "\n").fingerprint
    assert applied.fingerprint != client.secrets.set(NS, "PLAIN_NO_NL", VALUE).fingerprint


def test_sealing_offline_with_a_saved_key_and_from_a_file(
    server: str, client: WeirClient, tmp_path: Path
) -> None:
    saved = weir("seal-key", "--server", server, "--out", "key.json", cwd=tmp_path)
    assert saved.returncode == 0, saved.stderr
    server_key = client.secrets.seal_key()
    assert json.loads((tmp_path / "key.json").read_text())["key_id"] == server_key.key_id
    assert server_key.key_id in saved.stderr
    printed = weir("seal-key", "--server", server, cwd=tmp_path)
    assert json.loads(printed.stdout) == json.loads((tmp_path / "key.json").read_text())
    (tmp_path / "value.txt").write_bytes(VALUE.encode())
    # No server at WEIR_URL: the key file is all it needs.
    sealed = weir(
        "seal", "--namespace", NS, "--name", "OFFLINE", "--public-key", "key.json",
        "--from-file", "value.txt", "--out", "offline.yaml", cwd=tmp_path,
    )  # fmt: skip
    assert sealed.returncode == 0, sealed.stderr
    assert (sealed.stdout, sealed.stderr.count("\n")) == ("", 1)
    found = read_sealed_file((tmp_path / "offline.yaml").read_text(), "offline.yaml")
    applied = client.secrets.set_sealed(NS, "OFFLINE", found.for_key(server_key.key_id))
    assert applied.fingerprint == client.secrets.set(NS, "PLAIN", VALUE).fingerprint


def test_out_keeps_the_entries_for_other_keys_and_replaces_this_servers(
    server: str, client: WeirClient, tmp_path: Path
) -> None:
    other = X25519PrivateKey.generate().public_key().public_bytes_raw()
    other_blob = seal(other, NS, "SHARED", "for staging")
    out = tmp_path / "shared.yaml"
    out.write_text(dump_sealed_file(SealedSecretFile(NS, "SHARED", {key_id(other): other_blob})))
    args = ("seal", "--namespace", NS, "--name", "SHARED", "--server", server, "--out", str(out))
    assert weir(*args, stdin=b"first", cwd=tmp_path).returncode == 0
    first = read_sealed_file(out.read_text(), str(out))
    server_id = client.secrets.seal_key().key_id
    assert list(first.sealed) == [key_id(other), server_id]
    assert weir(*args, stdin=VALUE.encode(), cwd=tmp_path).returncode == 0
    second = read_sealed_file(out.read_text(), str(out))
    assert list(second.sealed) == [key_id(other), server_id]
    assert second.sealed[key_id(other)] == other_blob
    assert second.sealed[server_id] != first.sealed[server_id]
    applied = client.secrets.set_sealed(NS, "SHARED", second.for_key(server_id))
    assert applied.fingerprint == client.secrets.set(NS, "PLAIN", VALUE).fingerprint


def test_out_for_another_secret_is_refused_and_left_alone(server: str, tmp_path: Path) -> None:
    out = tmp_path / "db.yaml"
    made = weir(
        "seal", "--namespace", NS, "--name", "DB", "--server", server, "--out", str(out),
        stdin=b"x", cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0
    before = out.read_text()
    refused = weir(
        "seal", "--namespace", NS, "--name", "OTHER", "--server", server, "--out", str(out),
        stdin=VALUE.encode(), cwd=tmp_path,
    )  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr == (
        f"weir secret: {out} holds secret DB of namespace {NS}, not OTHER of namespace {NS}: "
        f"pass --namespace {NS} --name DB, or write to another file\n"
    )
    assert out.read_text() == before


def test_a_value_applied_to_another_secret_is_refused_by_the_server(
    server: str, client: WeirClient, tmp_path: Path
) -> None:
    sealed = weir(
        "seal", "--namespace", NS, "--name", "ONE", "--server", server,
        stdin=VALUE.encode(), cwd=tmp_path,
    )  # fmt: skip
    blob = read_sealed_file(sealed.stdout, "f").for_key(client.secrets.seal_key().key_id)
    with pytest.raises(Invalid, match="seal it again with weir secret seal --namespace"):
        client.secrets.set_sealed(NS, "TWO", blob)


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        ((), b"", "the value read from standard input is empty: nothing to seal"),
        ((), b"\xff\xfe", "the value read from standard input is not UTF-8 text"),
        (("--from-file", "missing.txt"), b"", "cannot read missing.txt: No such file"),
        (("--public-key", "missing.json"), b"x", "cannot read missing.json"),
        (("--public-key", "bad.json"), b"x", "bad.json is not a key file"),
        (("--public-key", "damaged.json"), b"x", "damaged.json: public_key is not the 32-byte"),
        (("--out", "bad.yaml"), b"x", "bad.yaml:1:7: kind is 'Other', expected SealedSecret"),
    ],
)
def test_errors_are_one_line_and_exit_one(
    tmp_path: Path, args: tuple[str, ...], stdin: bytes, message: str
) -> None:
    (tmp_path / "bad.json").write_text("[1, 2]")
    damaged = {"key_id": "x25519:0123456789abcdef", "algorithm": "X25519-HKDF-SHA256-AES256GCM"}
    (tmp_path / "damaged.json").write_text(json.dumps({**damaged, "public_key": "AAAA"}))
    (tmp_path / "bad.yaml").write_text("kind: Other\n")
    failed = weir("seal", "--namespace", NS, "--name", "K", *args, stdin=stdin, cwd=tmp_path)
    assert failed.returncode == 1
    assert failed.stdout == ""
    assert failed.stderr.startswith(f"weir secret: {message}"), failed.stderr
    assert failed.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("namespace", "name", "message"),
    [
        ("Company.Team", "K", "--namespace: namespace 'Company.Team' is not a dotted namespace"),
        (NS, ".hidden", "--name: name '.hidden' is not a secret name"),
    ],
)
def test_names_the_server_would_refuse_are_refused_before_reading_the_value(
    tmp_path: Path, namespace: str, name: str, message: str
) -> None:
    failed = weir("seal", "--namespace", namespace, "--name", name, cwd=tmp_path)
    assert failed.returncode == 1
    assert failed.stderr.startswith(f"weir secret: {message}"), failed.stderr


def test_an_unreachable_server_is_named(tmp_path: Path) -> None:
    failed = weir("seal", "--namespace", NS, "--name", "K", stdin=b"x", cwd=tmp_path)
    assert failed.returncode == 1
    assert "cannot reach the Weir server at http://127.0.0.1:1" in failed.stderr


def test_usage_errors_exit_two(tmp_path: Path) -> None:
    assert weir("seal", "--namespace", NS, cwd=tmp_path).returncode == 2
    assert weir("seal", "--name", "K", cwd=tmp_path).returncode == 2
    assert weir(cwd=tmp_path).returncode == 2
    # The value is never an argument.
    assert weir("seal", "--namespace", NS, "--name", "K", "v", cwd=tmp_path).returncode == 2
