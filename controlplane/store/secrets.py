"""Secrets, encrypted at rest with AES-GCM.

Two keys are derived from the configured one with HKDF: one encrypts (a random 12-byte nonce per
write; the namespace and name are the associated data, so a ciphertext moved to another secret
fails to decrypt), the other keys an HMAC-SHA256 of the value: equal values give equal
fingerprints, which tell whether a secret changed without telling what it is.

A third key, derived the same way, is the server's X25519 sealing key: secrets sealed to its public
key (``weir secret seal``, :mod:`controlplane.spec.sealing`) open only here. Nothing new is
stored, and every process configured with the same key seals and opens alike. A secret set from a
sealed value records the digest of that sealed text (``sealed_digest``); a plain write clears it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from controlplane.engine.model import now
from controlplane.engine.ports import SecretMeta
from controlplane.spec.sealing import open_sealed, sealed_digest
from controlplane.store.errors import SecretDecryptionError
from controlplane.store.tables import SECRETS

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


def _derive(key: bytes, purpose: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(key)


def _associated_data(namespace: str, name: str) -> bytes:
    # NUL cannot occur in either part, so ("a.b", "c") and ("a", "b.c") never collide.
    return f"{namespace}\0{name}".encode()


class SecretCipher:
    """The keys are derived on first use: the cryptography bindings load only in a process that
    reads or writes a secret."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @cached_property
    def _aead(self) -> AESGCM:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM(_derive(self._key, b"weir secret encryption v1"))

    @cached_property
    def _fingerprint_key(self) -> bytes:
        return _derive(self._key, b"weir secret fingerprint v1")

    @cached_property
    def _seal_key(self) -> X25519PrivateKey:
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        return X25519PrivateKey.from_private_bytes(_derive(self._key, b"weir seal v1"))

    def encrypt(self, namespace: str, name: str, value: str) -> tuple[bytes, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        data = self._aead.encrypt(nonce, value.encode(), _associated_data(namespace, name))
        return data, nonce

    def decrypt(self, namespace: str, name: str, ciphertext: bytes, nonce: bytes) -> str:
        from cryptography.exceptions import InvalidTag

        try:
            data = self._aead.decrypt(nonce, ciphertext, _associated_data(namespace, name))
        except InvalidTag:
            raise SecretDecryptionError(
                f"secret {name!r} of namespace {namespace!r} cannot be decrypted: it was "
                "written with another key (WEIR_SECRET_KEY, or secret.key under WEIR_HOME) "
                "or altered; configure the key it was written with, or set the secret again"
            ) from None
        return data.decode()

    def fingerprint(self, value: str) -> str:
        digest = hmac.new(self._fingerprint_key, value.encode(), hashlib.sha256).hexdigest()
        return f"hmac-sha256:{digest}"

    def seal_public_key(self) -> bytes:
        """The raw 32 bytes of the public key that secrets are sealed to for this server."""
        return self._seal_key.public_key().public_bytes_raw()

    def open_sealed(self, namespace: str, name: str, blob: str) -> str:
        """The value sealed for secret ``name`` of ``namespace``; ``SealError`` otherwise."""
        return open_sealed(self._seal_key, namespace, name, blob)


def _meta(row: Row[Any]) -> SecretMeta:
    return SecretMeta(
        namespace=row.namespace,
        name=row.name,
        fingerprint=row.fingerprint,
        managed_by=row.managed_by,
        revision=row.revision,
        updated=row.updated,
        sealed_digest=row.sealed_digest,
    )


class SqlSecretRepository:
    def __init__(self, connection: Connection, cipher: SecretCipher) -> None:
        self._db = connection
        self._cipher = cipher

    def update_secret(
        self,
        namespace: str,
        name: str,
        value: str,
        managed_by: str | None = None,
        sealed_digest: str | None = None,
    ) -> SecretMeta:
        where = (SECRETS.c.namespace == namespace, SECRETS.c.name == name)
        revision = self._db.execute(select(SECRETS.c.revision).where(*where)).scalar_one_or_none()
        ciphertext, nonce = self._cipher.encrypt(namespace, name, value)
        meta = SecretMeta(
            namespace=namespace,
            name=name,
            fingerprint=self._cipher.fingerprint(value),
            managed_by=managed_by,
            revision=revision + 1 if revision is not None else 1,
            updated=now(),
            sealed_digest=sealed_digest,
        )
        values = {
            "ciphertext": ciphertext,
            "nonce": nonce,
            "fingerprint": meta.fingerprint,
            "managed_by": managed_by,
            "revision": meta.revision,
            "updated": meta.updated,
            "sealed_digest": sealed_digest,
        }
        if revision is None:
            self._db.execute(insert(SECRETS).values(namespace=namespace, name=name, **values))
        else:
            self._db.execute(update(SECRETS).where(*where).values(**values))
        return meta

    def update_sealed_secret(
        self, namespace: str, name: str, blob: str, managed_by: str | None = None
    ) -> SecretMeta:
        value = self._cipher.open_sealed(namespace, name, blob)
        return self.update_secret(namespace, name, value, managed_by, sealed_digest(blob))

    def read_seal_public_key(self) -> bytes:
        return self._cipher.seal_public_key()

    def read_secret_value(self, namespace: str, name: str) -> str | None:
        query = select(SECRETS.c.ciphertext, SECRETS.c.nonce).where(
            SECRETS.c.namespace == namespace, SECRETS.c.name == name
        )
        row = self._db.execute(query).first()
        if row is None:
            return None
        return self._cipher.decrypt(namespace, name, row.ciphertext, row.nonce)

    def read_secret_meta(self, namespace: str, name: str) -> SecretMeta | None:
        query = select(SECRETS).where(SECRETS.c.namespace == namespace, SECRETS.c.name == name)
        row = self._db.execute(query).first()
        return _meta(row) if row is not None else None

    def list_secrets(self, namespace: str) -> list[SecretMeta]:
        query = select(SECRETS).where(SECRETS.c.namespace == namespace).order_by(SECRETS.c.name)
        return [_meta(row) for row in self._db.execute(query)]

    def delete_secret(self, namespace: str, name: str) -> bool:
        result = self._db.execute(
            delete(SECRETS).where(SECRETS.c.namespace == namespace, SECRETS.c.name == name)
        )
        return result.rowcount > 0
