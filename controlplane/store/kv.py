"""Typed key-value pairs per namespace, with an optional expiry.

Values are kept as JSON: DATETIME and DATE as ISO 8601 text, DURATION as an ISO 8601 duration
(``PT1H30M``); they are read back as ``datetime``, ``date`` and ``timedelta``.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, or_, select, update

from controlplane.engine.model import now
from controlplane.engine.ports import KvEntry, KvType
from controlplane.spec.durations import format_duration, parse_duration
from controlplane.store.errors import KvValueError
from controlplane.store.tables import KV


def _encode(value: Any, type: KvType) -> Any:
    """The JSON form of ``value``; ValueError, TypeError or OverflowError (a duration of more
    days than ``timedelta`` holds) when it is not of ``type``."""
    if type == "STRING" and isinstance(value, str):
        return value
    if type == "NUMBER" and isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("a NUMBER must be finite")
        return value
    if type == "BOOLEAN" and isinstance(value, bool):
        return value
    if type == "DATETIME" and isinstance(value, datetime | str):
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        if moment.tzinfo is None:
            raise ValueError("a DATETIME needs a time zone, e.g. 2025-01-31T08:00:00Z")
        return moment.isoformat()
    if type == "DATE" and isinstance(value, date | str) and not isinstance(value, datetime):
        return (date.fromisoformat(value) if isinstance(value, str) else value).isoformat()
    if type == "DURATION" and isinstance(value, timedelta):
        return format_duration(value)
    if type == "DURATION" and isinstance(value, str):
        return format_duration(parse_duration(value))
    if type == "JSON":
        json.dumps(value, allow_nan=False)
        return value
    raise TypeError(f"a {type} cannot hold a {value.__class__.__name__}")


def _decode(stored: Any, type: str) -> Any:
    if type == "DATETIME":
        return datetime.fromisoformat(stored)
    if type == "DATE":
        return date.fromisoformat(stored)
    if type == "DURATION":
        return parse_duration(stored)
    return stored


def _entry(row: Row[Any]) -> KvEntry:
    return KvEntry(
        namespace=row.namespace,
        key=row.key,
        type=row.type,
        value=_decode(row.value, row.type),
        expires=row.expires,
        managed_by=row.managed_by,
        revision=row.revision,
        updated=row.updated,
    )


class SqlKvRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def update_kv(
        self,
        namespace: str,
        key: str,
        value: Any,
        type: KvType,
        expires: datetime | None,
        managed_by: str | None = None,
    ) -> KvEntry:
        try:
            stored = _encode(value, type)
        except (TypeError, ValueError, OverflowError) as error:
            raise KvValueError(f"KV {key!r} of namespace {namespace!r}: {error}") from None
        revision = self._db.execute(
            select(KV.c.revision).where(KV.c.namespace == namespace, KV.c.key == key)
        ).scalar_one_or_none()
        entry = KvEntry(
            namespace=namespace,
            key=key,
            type=type,
            value=_decode(stored, type),
            expires=expires,
            managed_by=managed_by,
            revision=revision + 1 if revision is not None else 1,
            updated=now(),
        )
        values = {
            "type": type,
            "value": stored,
            "expires": expires,
            "managed_by": managed_by,
            "revision": entry.revision,
            "updated": entry.updated,
        }
        if revision is None:
            self._db.execute(insert(KV).values(namespace=namespace, key=key, **values))
        else:
            self._db.execute(
                update(KV).where(KV.c.namespace == namespace, KV.c.key == key).values(**values)
            )
        return entry

    def read_kv(self, namespace: str, key: str) -> KvEntry | None:
        query = select(KV).where(KV.c.namespace == namespace, KV.c.key == key, self._live())
        row = self._db.execute(query).first()
        return _entry(row) if row is not None else None

    def list_kv(self, namespace: str) -> list[KvEntry]:
        query = select(KV).where(KV.c.namespace == namespace, self._live()).order_by(KV.c.key)
        return [_entry(row) for row in self._db.execute(query)]

    def list_kv_keys(self, namespace: str, expired_only: bool = False) -> list[str]:
        query = select(KV.c.key).where(KV.c.namespace == namespace)
        if expired_only:
            query = query.where(KV.c.expires.is_not(None), KV.c.expires <= now())
        return [row.key for row in self._db.execute(query.order_by(KV.c.key))]

    def delete_kv(self, namespace: str, key: str) -> bool:
        result = self._db.execute(delete(KV).where(KV.c.namespace == namespace, KV.c.key == key))
        return result.rowcount > 0

    @staticmethod
    def _live() -> Any:
        # Expired entries stay stored until overwritten or deleted, but are never returned.
        return or_(KV.c.expires.is_(None), KV.c.expires > now())
