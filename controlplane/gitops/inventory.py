"""The objects a reconcile compares: what the source declares and what the server holds.

An object is known by its :class:`Key`; its ``value`` is what is compared (a flow's source, a
KV pair's type and value, a file's sha256, a sealed secret's digest, a namespace's attributes),
so that the diff is a comparison of two dictionaries of keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controlplane.spec.problems import Location

KINDS = ("namespace", "secret", "kv", "file", "flow")
"""The order objects are written in (and deleted in reverse)."""

NOUNS = {"namespace": "namespace", "secret": "secret", "kv": "KV pair", "file": "file",
         "flow": "flow"}  # fmt: skip


@dataclass(frozen=True, order=True)
class Key:
    kind: str
    namespace: str
    name: str
    """The flow id, secret name, KV key or file path; the namespace itself for a namespace."""

    def __str__(self) -> str:
        if self.kind == "namespace":
            return f"namespace {self.namespace}"
        separator = ":" if self.kind == "file" else "/"
        return f"{NOUNS[self.kind]} {self.namespace}{separator}{self.name}"

    @property
    def ref(self) -> str:
        return self.namespace if self.kind == "namespace" else f"{self.namespace}/{self.name}"


@dataclass
class Desired:
    key: Key
    value: Any
    origin: Location
    """Where the source declares it (file, line)."""
    payload: Any = None
    """What a write sends, when it is not ``value`` itself: a file's bytes, a KV pair's ttl."""
    calls: tuple[Key, ...] = ()
    """Flows this flow calls as subflows (literal references)."""


@dataclass
class Actual:
    key: Key
    value: Any
    managed_by: str | None
    revision: int


@dataclass
class Inventory:
    """What one side holds, by key."""

    objects: dict[Key, Any] = field(default_factory=dict)

    def add(self, item: Desired | Actual) -> None:
        self.objects[item.key] = item

    def namespaces(self) -> set[str]:
        return {key.namespace for key in self.objects}

    def __len__(self) -> int:
        return len(self.objects)
