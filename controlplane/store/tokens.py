"""API tokens: a name, a scope, namespace prefixes, and the SHA-256 of the secret."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from controlplane.store.serverports import TokenRecord
from controlplane.store.tables import TOKENS


def _record(row: Row[Any]) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        name=row.name,
        digest=row.digest,
        scope=row.scope,
        namespaces=tuple(row.namespaces),
        created=row.created,
        expires=row.expires,
        revoked=row.revoked,
    )


class SqlTokenRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def create_token(self, record: TokenRecord) -> None:
        self._db.execute(
            insert(TOKENS).values(
                id=record.id,
                name=record.name,
                digest=record.digest,
                scope=record.scope,
                namespaces=list(record.namespaces),
                created=record.created,
                expires=record.expires,
                revoked=record.revoked,
            )
        )

    def read_token_by_hash(self, digest: str) -> TokenRecord | None:
        row = self._db.execute(select(TOKENS).where(TOKENS.c.digest == digest)).first()
        return _record(row) if row is not None else None

    def list_tokens(self) -> list[TokenRecord]:
        query = select(TOKENS).order_by(TOKENS.c.created, TOKENS.c.name)
        return [_record(row) for row in self._db.execute(query)]

    def revoke_token(self, token_id: str) -> bool:
        result = self._db.execute(
            update(TOKENS).where(TOKENS.c.id == token_id, ~TOKENS.c.revoked).values(revoked=True)
        )
        return result.rowcount > 0
