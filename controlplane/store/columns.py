"""Column types shared by the tables: UTC datetimes and JSON documents on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, DateTime, Dialect, func, or_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

Json: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored in UTC.

    PostgreSQL keeps ``timestamptz``; SQLite has no zone, so the value is stored as naive UTC
    (which also makes its text order the time order) and read back as aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"a naive datetime cannot be stored: {value.isoformat()}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def in_namespace(column: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    """``prefix`` itself and the namespaces below it: ``a.b`` holds ``a.b.c``, not ``a.bc``.

    Compared with ``substr`` rather than LIKE, which SQLite matches case-insensitively.
    """
    below = prefix + "."
    return or_(column == prefix, func.substr(column, 1, len(below)) == below)
