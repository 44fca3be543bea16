"""What the server (its API and ``weir token``) needs of the store beyond the engine's ports: API
tokens, and the key that secrets are sealed to. The engine needs neither; these Protocols extend
``controlplane.engine.ports`` for the server, and ``SqlStore`` implements them."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from controlplane.engine.ports import Repositories, SecretMeta, Store

Scope = Literal["read", "write", "admin"]


@dataclass(frozen=True)
class TokenRecord:
    """An API token: only a hash of its secret is stored."""

    id: str
    name: str
    digest: str
    scope: Scope
    namespaces: tuple[str, ...]
    """Namespace prefixes the token reaches; empty means all."""
    created: datetime
    expires: datetime | None = None
    revoked: bool = False


class TokenRepository(Protocol):
    def create_token(self, record: TokenRecord) -> None: ...

    def read_token_by_hash(self, digest: str) -> TokenRecord | None: ...

    def list_tokens(self) -> list[TokenRecord]: ...

    def revoke_token(self, token_id: str) -> bool:
        """Mark the token revoked (it stays listed); False when no such live token."""


class SealedSecretRepository(Protocol):
    """Secret values sealed to this server's key, and the key."""

    def update_sealed_secret(
        self, namespace: str, name: str, blob: str, managed_by: str | None = None
    ) -> SecretMeta:
        """Open ``blob`` (sealed to this server's key for exactly this namespace and name) and
        store its value with the blob's digest; ``SealError`` when it does not open."""

    def read_seal_public_key(self) -> bytes:
        """The raw X25519 public key that values are sealed to for this server."""


class ServerRepositories(Repositories, Protocol):
    tokens: TokenRepository
    sealed: SealedSecretRepository


class ServerStore(Store, Protocol):
    def unit(self, read_only: bool = False) -> AbstractContextManager[ServerRepositories]:
        """A transaction, as ``Store.unit``, whose repositories include the server's."""
