"""Sealed secrets: only the key they were sealed for opens them, and only as the secret they
were sealed for; the committed file reads back as written and its errors name file and line."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from controlplane.errors import WeirError
from controlplane.spec.sealing import (
    SealedSecretFile,
    SealError,
    dump_sealed_file,
    key_id,
    open_sealed,
    read_sealed_file,
    seal,
    sealed_chars,
    sealed_digest,
    sealed_value_bytes,
)

VALUE = "s3cr3t-Pa55 wörd\n"
NS, NAME = "company.team", "DB_PASSWORD"


@pytest.fixture
def server_key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def public(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes_raw()


def test_a_sealed_value_opens_exactly_as_written_with_its_key(
    server_key: X25519PrivateKey,
) -> None:
    first = seal(public(server_key), NS, NAME, VALUE)
    second = seal(public(server_key), NS, NAME, VALUE)
    assert first != second  # a fresh ephemeral key and nonce each time
    assert open_sealed(server_key, NS, NAME, first) == VALUE
    assert open_sealed(server_key, NS, NAME, second) == VALUE
    assert VALUE.strip() not in first
    assert sealed_value_bytes(first) == len(VALUE.encode())
    assert len(first) == sealed_chars(len(VALUE.encode()))


def test_the_blob_is_the_version_the_ephemeral_key_the_nonce_and_the_ciphertext(
    server_key: X25519PrivateKey,
) -> None:
    raw = base64.b64decode(seal(public(server_key), NS, NAME, "x"))
    assert raw[0] == 1
    assert len(raw) == 1 + 32 + 12 + len(b"x") + 16


def test_another_key_does_not_open_it(server_key: X25519PrivateKey) -> None:
    blob = seal(public(server_key), NS, NAME, VALUE)
    with pytest.raises(SealError, match="sealed for another server") as caught:
        open_sealed(X25519PrivateKey.generate(), NS, NAME, blob)
    assert isinstance(caught.value, WeirError)
    assert VALUE.strip() not in str(caught.value)


@pytest.mark.parametrize(
    ("namespace", "name"),
    [(NS, "OTHER"), ("company.other", NAME), ("company", "team\0DB_PASSWORD")],
)
def test_a_value_moved_to_another_secret_does_not_open(
    server_key: X25519PrivateKey, namespace: str, name: str
) -> None:
    blob = seal(public(server_key), NS, NAME, VALUE)
    with pytest.raises(SealError) as caught:
        open_sealed(server_key, namespace, name, blob)
    message = str(caught.value)
    assert "for another namespace or name" in message
    assert f"weir secret seal --namespace {namespace} --name {name}" in message


def test_namespace_and_name_cannot_trade_dots(server_key: X25519PrivateKey) -> None:
    blob = seal(public(server_key), "a.b", "c", VALUE)
    with pytest.raises(SealError):
        open_sealed(server_key, "a", "b.c", blob)


def test_an_altered_blob_is_refused(server_key: X25519PrivateKey) -> None:
    raw = bytearray(base64.b64decode(seal(public(server_key), NS, NAME, VALUE)))
    for index in (1, 40, len(raw) - 1):  # ephemeral key, nonce, tag
        altered = bytearray(raw)
        altered[index] ^= 0x01
        with pytest.raises(SealError, match="or altered"):
            open_sealed(server_key, NS, NAME, base64.b64encode(altered).decode())


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        ("not base64!", "not base64 text"),
        (base64.b64encode(b"\x01" + b"x" * 20).decode(), "21 bytes is too short"),
        (base64.b64encode(b"\x07" + b"x" * 80).decode(), "version 7, expected 1"),
        ("", "0 bytes is too short"),
    ],
)
def test_what_is_not_a_sealed_value_is_named_so(
    server_key: X25519PrivateKey, blob: str, reason: str
) -> None:
    with pytest.raises(SealError, match="not a sealed value") as caught:
        open_sealed(server_key, NS, NAME, blob)
    assert reason in str(caught.value)


def test_a_public_key_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(SealError, match="32 raw bytes, not 31"):
        seal(b"k" * 31, NS, NAME, VALUE)


def test_a_lone_surrogate_cannot_be_sealed(server_key: X25519PrivateKey) -> None:
    with pytest.raises(SealError, match="lone surrogate"):
        seal(public(server_key), NS, NAME, "a\ud800")


def test_key_id_is_short_stable_and_names_the_key(server_key: X25519PrivateKey) -> None:
    found = key_id(public(server_key))
    assert re.fullmatch(r"x25519:[0-9a-f]{16}", found)
    assert found == "x25519:" + hashlib.sha256(public(server_key)).hexdigest()[:16]
    assert key_id(public(X25519PrivateKey.generate())) != found


def test_sealed_digest_is_the_sha256_of_the_text(server_key: X25519PrivateKey) -> None:
    blob = seal(public(server_key), NS, NAME, VALUE)
    assert sealed_digest(blob) == "sha256:" + hashlib.sha256(blob.encode()).hexdigest()
    assert sealed_digest(seal(public(server_key), NS, NAME, VALUE)) != sealed_digest(blob)


def test_a_sealed_file_reads_back_as_written(server_key: X25519PrivateKey) -> None:
    other = X25519PrivateKey.generate()
    sealed = {
        key_id(public(server_key)): seal(public(server_key), NS, NAME, VALUE),
        key_id(public(other)): seal(public(other), NS, NAME, VALUE),
    }
    text = dump_sealed_file(SealedSecretFile(NS, NAME, sealed))
    assert text.startswith("# Sealed with `weir secret seal`")
    assert f"\nkind: SealedSecret\nnamespace: {NS}\nname: {NAME}\nsealed:\n" in text
    found = read_sealed_file(text, "secrets/db.yaml")
    assert (found.namespace, found.name, found.sealed) == (NS, NAME, sealed)
    assert found.source == "secrets/db.yaml"
    blob = found.for_key(key_id(public(server_key)))
    assert open_sealed(server_key, NS, NAME, blob) == VALUE


def test_names_that_yaml_would_retype_are_quoted_and_read_back(
    server_key: X25519PrivateKey,
) -> None:
    blob = seal(public(server_key), "true", "123", VALUE)
    text = dump_sealed_file(SealedSecretFile("true", "123", {key_id(public(server_key)): blob}))
    assert 'namespace: "true"\nname: "123"\n' in text
    found = read_sealed_file(text, "f.yaml")
    assert (found.namespace, found.name) == ("true", "123")


def test_with_entry_adds_or_replaces_one_key_and_keeps_the_others() -> None:
    start = SealedSecretFile(
        NS, NAME, {"x25519:aaaaaaaaaaaaaaaa": "A", "x25519:bbbbbbbbbbbbbbbb": "B"}
    )
    replaced = start.with_entry("x25519:aaaaaaaaaaaaaaaa", "A2")
    added = start.with_entry("x25519:cccccccccccccccc", "C")
    assert replaced.sealed == {"x25519:aaaaaaaaaaaaaaaa": "A2", "x25519:bbbbbbbbbbbbbbbb": "B"}
    assert list(added.sealed) == [
        "x25519:aaaaaaaaaaaaaaaa", "x25519:bbbbbbbbbbbbbbbb", "x25519:cccccccccccccccc",
    ]  # fmt: skip
    assert start.sealed == {"x25519:aaaaaaaaaaaaaaaa": "A", "x25519:bbbbbbbbbbbbbbbb": "B"}


def test_a_missing_key_lists_the_keys_it_was_sealed_for() -> None:
    found = SealedSecretFile(
        NS, NAME, {"x25519:bbbbbbbbbbbbbbbb": "B", "x25519:aaaaaaaaaaaaaaaa": "A"}, "db.yaml"
    )
    with pytest.raises(SealError) as caught:
        found.for_key("x25519:cccccccccccccccc")
    assert str(caught.value) == (
        "db.yaml: secret DB_PASSWORD of namespace company.team is not sealed for this server's "
        "key x25519:cccccccccccccccc, only for x25519:aaaaaaaaaaaaaaaa, x25519:bbbbbbbbbbbbbbbb: "
        "seal it for this server with weir secret seal --namespace company.team --name "
        "DB_PASSWORD --out <this file>"
    )


def good_blob() -> str:
    return seal(public(X25519PrivateKey.generate()), NS, NAME, VALUE)


HEAD = "kind: SealedSecret\nnamespace: company.team\nname: DB_PASSWORD\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "s.yaml: the file is empty; expected kind: SealedSecret"),
        ("- a\n", "s.yaml:1:1: the file must be a mapping"),
        ("kind: [\n", "s.yaml:2:1: not valid YAML"),
        ("kind: Secret\n", "s.yaml:1:7: kind is 'Secret', expected SealedSecret"),
        ("namespace: a\n", "s.yaml:1:1: kind is missing"),
        (
            "kind: SealedSecret\nkind: SealedSecret\n",
            "s.yaml:2:1: 'kind' appears twice in the file",
        ),
        (HEAD + "extra: 1\n", "s.yaml:4:1: unknown field 'extra'"),
        (
            "kind: SealedSecret\nnamespace: Company.Team\n",
            "s.yaml:2:12: namespace 'Company.Team' is not a dotted namespace",
        ),
        (
            "kind: SealedSecret\nnamespace: a\nname: .hidden\n",
            "s.yaml:3:7: name '.hidden' is not a secret name",
        ),
        ("kind: SealedSecret\nnamespace: a\nname:\n", "s.yaml:3:6: name has no value"),
        ("kind: SealedSecret\nnamespace: [a]\n", "s.yaml:2:12: namespace must be text, not a list"),
        (HEAD, "s.yaml:1:1: sealed is missing"),
        (HEAD + "sealed: {}\n", "s.yaml:4:9: sealed is empty"),
        (HEAD + "sealed: abc\n", "s.yaml:4:9: sealed must be a mapping"),
        (HEAD + "sealed:\n  mykey: abc\n", "s.yaml:5:3: 'mykey' is not a key id"),
        (
            HEAD + "sealed:\n  x25519:0123456789abcdef: '%%%'\n",
            "s.yaml:5:28: sealed.x25519:0123456789abcdef: not a sealed value: it is not base64",
        ),
    ],
)
def test_file_errors_name_the_file_the_line_and_the_field(text: str, expected: str) -> None:
    with pytest.raises(SealError) as caught:
        read_sealed_file(text, "s.yaml")
    assert str(caught.value).startswith(expected), str(caught.value)


def test_a_good_file_with_an_entry_after_a_bad_one_names_the_bad_line() -> None:
    text = HEAD + f"sealed:\n  x25519:0123456789abcdef: {good_blob()}\n  x25519:1: {good_blob()}\n"
    with pytest.raises(SealError, match=r"^s\.yaml:6:3: 'x25519:1' is not a key id"):
        read_sealed_file(text, "s.yaml")
