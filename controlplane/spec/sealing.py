"""Sealed secrets: values encrypted to one Weir server's public key, safe to commit to Git.

The scheme (version 1): an ephemeral X25519 key pair per seal; its Diffie-Hellman secret with the
server's key goes through HKDF-SHA256 (salted with both public keys) to an AES-256-GCM key; a
random 12-byte nonce; the associated data is ``namespace NUL name``, so a sealed value moved to
another secret or namespace fails to open. A sealed value is the base64 of::

    version (1 byte) | ephemeral public key (32) | nonce (12) | ciphertext and tag

GCM cannot tell a value sealed for another key from one sealed for another secret: both fail
alike, and :class:`SealError` says so. Only the server holding the private key opens a value.

The committed file, one per secret, carries one sealed value per server key (one per
environment)::

    kind: SealedSecret
    namespace: company.team
    name: DB_PASSWORD
    sealed:
      x25519:0123456789abcdef: <base64>

:func:`read_sealed_file` checks it and names the file and line of what is wrong;
:func:`dump_sealed_file` writes it back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import yaml

from controlplane.errors import WeirError
from controlplane.spec.names import NAMESPACE_PATTERN, SECRET_NAME_MAX, SECRET_NAME_PATTERN

if TYPE_CHECKING:
    # Imported where a value is sealed or opened: a process that only reads sealed files, or
    # a server that never opens one, does not load the cryptography bindings.
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ALGORITHM = "X25519-HKDF-SHA256-AES256GCM"
VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = 1 + KEY_BYTES + NONCE_BYTES
KIND = "SealedSecret"
KEY_ID_PATTERN = r"^x25519:[0-9a-f]{16}$"
MAX_FILE_CHARS = 1024 * 1024
_INFO = b"weir sealed secret v1"
_NULLS = {"", "~", "null", "Null", "NULL"}
_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:/+=-]*$")


class SealError(WeirError):
    """A sealed value or a sealed-secret file that cannot be used; never carries the value."""

    code = "sealed_invalid"


def key_id(public_key: bytes) -> str:
    """A short, stable name of a server's public key: ``x25519:`` and 16 hex digits."""
    return "x25519:" + hashlib.sha256(public_key).hexdigest()[:16]


def sealed_digest(blob: str) -> str:
    """``sha256:<hex>`` of the sealed text: tells which sealed value a secret was set from."""
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def _associated_data(namespace: str, name: str) -> bytes:
    # NUL cannot occur in either part, so ("a.b", "c") and ("a", "b.c") never collide.
    return f"{namespace}\0{name}".encode()


def _aead(shared: bytes, ephemeral: bytes, recipient: bytes) -> AESGCM:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=_INFO)
    return AESGCM(hkdf.derive(shared))


def seal(public_key: bytes, namespace: str, name: str, value: str) -> str:
    """Encrypt ``value`` so that only the holder of ``public_key``'s private key opens it, and
    only as secret ``name`` of ``namespace``."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

    try:
        recipient = X25519PublicKey.from_public_bytes(public_key)
    except ValueError:
        raise SealError(
            f"the public key must be {KEY_BYTES} raw bytes, not {len(public_key)}: "
            "fetch it again with weir secret seal-key"
        ) from None
    try:
        data = value.encode()
    except UnicodeEncodeError:
        raise SealError("the value is not valid Unicode text (it holds a lone surrogate)") from None
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    aead = _aead(ephemeral.exchange(recipient), ephemeral_public, public_key)
    nonce = os.urandom(NONCE_BYTES)
    sealed = aead.encrypt(nonce, data, _associated_data(namespace, name))
    return base64.b64encode(bytes([VERSION]) + ephemeral_public + nonce + sealed).decode("ascii")


def _decode(blob: str) -> bytes:
    """The bytes of a sealed value, or a :class:`SealError` saying why it is not one."""
    try:
        raw = base64.b64decode(blob.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SealError("not a sealed value: it is not base64 text") from None
    if len(raw) < HEADER_BYTES + TAG_BYTES:
        raise SealError(f"not a sealed value: {len(raw)} bytes is too short to be one")
    if raw[0] != VERSION:
        raise SealError(
            f"not a sealed value of a version this server knows (version {raw[0]}, "
            f"expected {VERSION}): seal it again with weir secret seal"
        )
    return raw


def sealed_value_bytes(blob: str) -> int:
    """How many bytes of UTF-8 the value sealed in ``blob`` has, told without opening it."""
    return len(_decode(blob)) - HEADER_BYTES - TAG_BYTES


def sealed_chars(value_bytes: int) -> int:
    """The length of the sealed text of a value of ``value_bytes`` bytes."""
    return 4 * -(-(HEADER_BYTES + TAG_BYTES + value_bytes) // 3)


def open_sealed(private_key: X25519PrivateKey, namespace: str, name: str, blob: str) -> str:
    """The value sealed in ``blob`` for secret ``name`` of ``namespace``."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

    raw = _decode(blob)
    ephemeral = raw[1 : 1 + KEY_BYTES]
    nonce = raw[1 + KEY_BYTES : HEADER_BYTES]
    recipient = private_key.public_key().public_bytes_raw()
    try:
        shared = private_key.exchange(X25519PublicKey.from_public_bytes(ephemeral))
        data = _aead(shared, ephemeral, recipient).decrypt(
            nonce, raw[HEADER_BYTES:], _associated_data(namespace, name)
        )
        return data.decode()
    except (InvalidTag, ValueError):
        # ValueError: a degenerate ephemeral key, or bytes that are not UTF-8 text.
        raise SealError(
            f"the sealed value does not open as secret {name} of namespace {namespace}: it was "
            "sealed for another server, or for another namespace or name, or altered: seal it "
            f"again with weir secret seal --namespace {namespace} --name {name}"
        ) from None


@dataclass(frozen=True)
class SealedSecretFile:
    """A committed sealed secret: the secret it is for, and one sealed value per server key."""

    namespace: str
    name: str
    sealed: dict[str, str]
    source: str | None = field(default=None, compare=False)
    """The file it was read from, for messages."""

    def for_key(self, key_id: str) -> str:
        """The value sealed for the server whose key id is ``key_id``."""
        found = self.sealed.get(key_id)
        if found is not None:
            return found
        where = f"{self.source}: " if self.source else ""
        known = ", ".join(sorted(self.sealed)) or "no key"
        raise SealError(
            f"{where}secret {self.name} of namespace {self.namespace} is not sealed for this "
            f"server's key {key_id}, only for {known}: seal it for this server with weir secret "
            f"seal --namespace {self.namespace} --name {self.name} --out <this file>"
        )

    def with_entry(self, key: str, blob: str) -> SealedSecretFile:
        """This file with the value sealed for ``key`` added or replaced, the others kept."""
        return SealedSecretFile(self.namespace, self.name, {**self.sealed, key: blob}, self.source)


def dump_sealed_file(sealed_file: SealedSecretFile) -> str:
    """The text of the committed file."""
    lines = [
        "# Sealed with `weir secret seal`: only the Weir server holding the private key opens it.",
        f"kind: {KIND}",
        f"namespace: {_scalar(sealed_file.namespace)}",
        f"name: {_scalar(sealed_file.name)}",
        "sealed:",
        *(f"  {_scalar(k)}: {_scalar(v)}" for k, v in sealed_file.sealed.items()),
    ]
    return "\n".join(lines) + "\n"


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain when it reads back as the same string, else quoted."""
    if _PLAIN.match(text) and yaml.safe_load(text) == text:
        return text
    return json.dumps(text)


def namespace_problem(namespace: str) -> str | None:
    """What is wrong with ``namespace`` as the namespace of a secret, if anything."""
    if re.match(NAMESPACE_PATTERN, namespace):
        return None
    return (
        f"namespace {namespace!r} is not a dotted namespace of lower-case letters, digits, "
        "'_' and '-' such as company.team"
    )


def name_problem(name: str) -> str | None:
    """What is wrong with ``name`` as the name of a secret, if anything."""
    if re.match(SECRET_NAME_PATTERN, name) and len(name) <= SECRET_NAME_MAX:
        return None
    return (
        f"name {name!r} is not a secret name: letters, digits, '_', '.' and '-', not starting "
        f"with '.' or '-', at most {SECRET_NAME_MAX} characters"
    )


def read_sealed_file(text: str, path: str) -> SealedSecretFile:
    """Read and check a sealed-secret file; errors name ``path``, the line and the field."""
    if len(text) > MAX_FILE_CHARS:
        raise SealError(f"{path}: {len(text):,} characters is too large for a sealed secret")
    root = _compose(text, path)
    if root is None:
        raise SealError(f"{path}: the file is empty; expected kind: {KIND}")
    top = _mapping(root, path, "the file")
    for key, (key_node, _) in top.items():
        if key not in ("kind", "namespace", "name", "sealed"):
            raise SealError(
                f"{_at(path, key_node)}: unknown field {key!r}; "
                "a sealed secret has kind, namespace, name and sealed"
            )
    kind = _text(top, "kind", root, path)
    if kind != KIND:
        raise SealError(f"{_at(path, top['kind'][1])}: kind is {kind!r}, expected {KIND}")
    namespace = _text(top, "namespace", root, path)
    problem = namespace_problem(namespace)
    if problem is not None:
        raise SealError(f"{_at(path, top['namespace'][1])}: {problem}")
    name = _text(top, "name", root, path)
    problem = name_problem(name)
    if problem is not None:
        raise SealError(f"{_at(path, top['name'][1])}: {problem}")
    if "sealed" not in top:
        raise SealError(f"{_at(path, root)}: sealed is missing: seal a value with weir secret seal")
    sealed = _entries(top["sealed"][1], path)
    return SealedSecretFile(namespace, name, sealed, path)


def _compose(text: str, path: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else "1:1"
        reason = " ".join(part for part in (exc.context, exc.problem) if part)
        raise SealError(f"{path}:{line}: not valid YAML: {reason or 'cannot parse'}") from None
    except yaml.YAMLError as exc:
        raise SealError(f"{path}:1:1: not valid YAML: {exc}") from None


def _at(path: str, node: yaml.Node) -> str:
    return f"{path}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def _mapping(node: yaml.Node, path: str, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """A mapping node's entries by key text; duplicate and non-text keys are refused."""
    if not isinstance(node, yaml.MappingNode):
        raise SealError(f"{_at(path, node)}: {what} must be a mapping")
    found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise SealError(f"{_at(path, key_node)}: a key in {what} must be text")
        key = key_node.value
        if key in found:
            raise SealError(f"{_at(path, key_node)}: {key!r} appears twice in {what}")
        found[key] = (key_node, value_node)
    return found


def _text(
    entries: dict[str, tuple[yaml.Node, yaml.Node]], key: str, parent: yaml.Node, path: str
) -> str:
    if key not in entries:
        raise SealError(f"{_at(path, parent)}: {key} is missing")
    node = entries[key][1]
    if isinstance(node, yaml.ScalarNode) and node.style is None and node.value in _NULLS:
        raise SealError(f"{_at(path, node)}: {key} has no value")
    if not isinstance(node, yaml.ScalarNode):
        kind = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
        raise SealError(f"{_at(path, node)}: {key} must be text, not {kind}")
    return str(node.value)


def _entries(node: yaml.Node, path: str) -> dict[str, str]:
    entries = _mapping(node, path, "sealed")
    if not entries:
        raise SealError(f"{_at(path, node)}: sealed is empty: seal a value with weir secret seal")
    sealed: dict[str, str] = {}
    for key, (key_node, _) in entries.items():
        if not re.match(KEY_ID_PATTERN, key):
            raise SealError(
                f"{_at(path, key_node)}: {key!r} is not a key id such as x25519:0123456789abcdef "
                "(weir secret seal-key prints the server's)"
            )
        blob = _text(entries, key, node, path)
        try:
            _decode(blob)
        except SealError as exc:
            raise SealError(f"{_at(path, entries[key][1])}: sealed.{key}: {exc}") from None
        sealed[key] = blob
    return sealed
