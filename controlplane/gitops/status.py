"""The record of a source's last reconcile, kept on the server as the KV pair
``system/gitops.<name>``: what was applied (commit, when, the outcome) and the revision of every
object written or found in sync, so that later changes made in Weir show as drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from controlplane.client.errors import NotFound
from controlplane.gitops.actual import STATUS_NAMESPACE, STATUS_PREFIX
from controlplane.gitops.inventory import Key

if TYPE_CHECKING:
    from controlplane.client import WeirClient


@dataclass
class Status:
    source: str
    location: str
    commit: str | None
    environment: str | None
    finished: str
    """ISO time the reconcile ended."""
    ready: bool
    reason: str
    message: str
    counts: dict[str, int] = field(default_factory=dict)
    inventory: dict[Key, int] = field(default_factory=dict)
    """Every object of the source, with the revision it had after the reconcile."""

    @property
    def namespaces(self) -> set[str]:
        return {key.namespace for key in self.inventory}

    def as_json(self) -> dict[str, Any]:
        nested: dict[str, dict[str, dict[str, int]]] = {}
        for key, revision in sorted(self.inventory.items()):
            nested.setdefault(key.kind, {}).setdefault(key.namespace, {})[key.name] = revision
        return {
            "source": self.source,
            "location": self.location,
            "commit": self.commit,
            "environment": self.environment,
            "finished": self.finished,
            "ready": self.ready,
            "reason": self.reason,
            "message": self.message,
            "counts": self.counts,
            "inventory": nested,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Status:
        inventory = {
            Key(kind, namespace, name): int(revision)
            for kind, namespaces in (data.get("inventory") or {}).items()
            for namespace, names in namespaces.items()
            for name, revision in names.items()
        }
        return cls(
            source=str(data.get("source", "")),
            location=str(data.get("location", "")),
            commit=data.get("commit"),
            environment=data.get("environment"),
            finished=str(data.get("finished", "")),
            ready=bool(data.get("ready")),
            reason=str(data.get("reason", "")),
            message=str(data.get("message", "")),
            counts=dict(data.get("counts") or {}),
            inventory=inventory,
        )

    @property
    def finished_at(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.finished)
        except ValueError:
            return None


def status_key(name: str) -> str:
    return STATUS_PREFIX + name


def read_status(client: WeirClient, name: str) -> Status | None:
    try:
        pair = client.kv.get(STATUS_NAMESPACE, status_key(name))
    except NotFound:
        return None
    if not isinstance(pair.value, dict):
        return None
    return Status.from_json(pair.value)


def write_status(client: WeirClient, status: Status) -> None:
    client.kv.set(STATUS_NAMESPACE, status_key(status.source), status.as_json(), type="JSON")


def drift_since(client: WeirClient, status: Status) -> list[dict[str, Any]]:
    """The objects of ``status``'s inventory changed or deleted in Weir since it was written."""
    from controlplane.gitops.actual import read_actual

    observed = read_actual(client, status.namespaces).objects.objects
    found: list[dict[str, Any]] = []
    for key, revision in sorted(status.inventory.items()):
        have = observed.get(key)
        if have is None:
            found.append({"object": str(key), "change": "deleted"})
        elif have.revision != revision:
            who = have.managed_by or "no manager"
            found.append(
                {
                    "object": str(key),
                    "change": f"revision {revision} → {have.revision} (by {who})",
                }
            )
    return found
