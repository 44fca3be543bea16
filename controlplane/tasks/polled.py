"""What the polling triggers share: the task a trigger runs to look, and the objects an
object-storage trigger remembers between evaluations.

A trigger looks the way its plugin's task does (S3 ``List``, GCS ``List``, PostgreSQL
``Query``): :func:`as_task` builds that task from the properties the trigger was given.

:class:`ObjectMemory` is Kestra's trigger state: each object fired for is remembered by its URI
with its version (S3 ETag, GCS generation) and when it was last seen. An object fires when it is
new (``on: CREATE``), when its version changed (``on: UPDATE``), or either
(``CREATE_OR_UPDATE``, the default). Entries not seen for ``stateTtl`` are forgotten, so are the
objects that ``action`` moved or deleted (a file uploaded again under the same name fires again)
and, after a listing that was not cut short, the objects that are gone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

from controlplane.engine.model import now
from controlplane.spec.fields import build
from controlplane.spec.plugins.triggers import TriggerSpec

T = TypeVar("T", bound=BaseModel)

_KEEP = 10_000
"""How many objects a trigger remembers at most (the most recently seen)."""


def as_task(model: type[T], spec: TriggerSpec, **values: Any) -> T:
    """The task ``model`` with the properties of ``spec`` that it has (and ``values``)."""
    if not model.__pydantic_complete__:
        build(model)
    fields = model.model_fields
    given = {name: getattr(spec, name) for name in spec.model_fields_set if name in fields}
    given.pop("type", None)
    given.pop("description", None)
    return model.model_validate({**given, "id": spec.id, "type": spec.type, **values})


class ObjectMemory:
    """The objects a trigger fired for, kept in ``memory["objects"]``; see the module."""

    def __init__(self, memory: dict[str, Any], on: str, ttl: timedelta | None) -> None:
        self.on = on
        self.moment = now()
        entries: dict[str, dict[str, Any]] = memory.setdefault("objects", {})
        if ttl is not None:
            oldest = self.moment - ttl
            for uri in [u for u, e in entries.items() if _seen(e) < oldest]:
                del entries[uri]
        self.entries = entries

    def change(self, uri: str, version: str) -> str | None:
        """``CREATE`` or ``UPDATE`` when the object fires, else None; it is remembered."""
        previous = self.entries.get(uri)
        kind = "CREATE" if previous is None else None
        if previous is not None and previous.get("version") != version:
            kind = "UPDATE"
        self.entries[uri] = {"version": version, "lastSeenAt": self.moment.isoformat()}
        if kind is None or (self.on != "CREATE_OR_UPDATE" and self.on != kind):
            return None
        return kind

    def forget(self, uri: str) -> None:
        self.entries.pop(uri, None)

    def keep_only(self, present: set[str]) -> None:
        """After a whole listing: forget the objects that are gone."""
        for uri in [u for u in self.entries if u not in present]:
            del self.entries[uri]

    def trim(self) -> None:
        if len(self.entries) <= _KEEP:
            return
        newest = sorted(self.entries, key=lambda u: _seen(self.entries[u]), reverse=True)
        for uri in newest[_KEEP:]:
            del self.entries[uri]


def _seen(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(entry.get("lastSeenAt") or "1970-01-01T00:00:00+00:00"))
