"""Bearer tokens: scopes, namespace prefixes, and the checks every router makes.

A token is ``weir_`` and 43 URL-safe characters; the store keeps only its SHA-256. Scopes nest:
``admin`` can do what ``write`` can, which can do what ``read`` can.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from controlplane.api.errors import Forbidden, Unauthorized
from controlplane.engine.model import new_id, now
from controlplane.store.serverports import Scope, ServerStore, TokenRecord

RANK: dict[Scope, int] = {"read": 0, "write": 1, "admin": 2}
PREFIX = "weir_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    store: ServerStore,
    name: str,
    scope: Scope,
    namespaces: Iterable[str] = (),
    expires: datetime | None = None,
) -> tuple[TokenRecord, str]:
    """Create a token; the secret is returned once and never stored."""
    secret = PREFIX + secrets.token_urlsafe(32)
    record = TokenRecord(
        id=new_id(),
        name=name,
        digest=digest(secret),
        scope=scope,
        namespaces=tuple(namespaces),
        created=now(),
        expires=expires,
    )
    with store.unit() as repos:
        repos.tokens.create_token(record)
    return record, secret


def reaches(prefixes: Iterable[str], namespace: str) -> bool:
    """Whether a namespace is one of ``prefixes`` or below one of them (all when empty)."""
    found = list(prefixes)
    return not found or any(namespace == p or namespace.startswith(p + ".") for p in found)


@dataclass(frozen=True)
class Principal:
    """Who is asking: the token's name, scope and namespace prefixes."""

    name: str
    scope: Scope
    namespaces: tuple[str, ...] = field(default_factory=tuple)
    expires: datetime | None = None

    @property
    def unrestricted(self) -> bool:
        return not self.namespaces

    def can(self, scope: Scope) -> bool:
        return RANK[self.scope] >= RANK[scope]

    def require(self, scope: Scope, namespace: str | None = None) -> None:
        """403 unless the token has ``scope`` and reaches ``namespace``."""
        if not self.can(scope):
            raise Forbidden(
                f"this request needs the '{scope}' scope; the token has '{self.scope}'",
                {"needed": scope},
            )
        if namespace is not None and not reaches(self.namespaces, namespace):
            raise Forbidden(
                f"the token does not reach namespace '{namespace}'",
                {"namespaces": list(self.namespaces)},
            )

    def sees(self, namespace: str) -> bool:
        return reaches(self.namespaces, namespace)


OPEN = Principal(name="anonymous", scope="admin")
"""Who every request is when the server does not require tokens."""


async def principal(request: Request) -> Principal:
    """The caller, from its bearer token; 401 when the server requires one and it is missing,
    unknown, revoked or expired."""
    state = request.app.state
    if not state.settings.require_tokens:
        return OPEN
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "this server requires a token: send 'Authorization: Bearer <token>' "
            "(create one with 'weir token create')"
        )
    found = await run_in_threadpool(principal_of, state.store, token.strip())
    if found is None:
        raise Unauthorized("the token is unknown, revoked or expired")
    # An answer kept for later reads must not outlive the token that was allowed it.
    request.state.token_expires = found.expires
    return found


def principal_of(store: ServerStore, token: str) -> Principal | None:
    """Whom a token stands for; None when it is unknown, revoked or expired. (The web UI
    signs in with it too.)"""
    with store.unit(read_only=True) as repos:
        record = repos.tokens.read_token_by_hash(digest(token))
    if record is None or record.revoked or (record.expires and record.expires <= now()):
        return None
    return Principal(
        name=record.name, scope=record.scope, namespaces=record.namespaces, expires=record.expires
    )


Caller = Annotated[Principal, Depends(principal)]
