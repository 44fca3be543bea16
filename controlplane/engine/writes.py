"""One write path for the control plane's objects: the ownership rule, and the one way a flow
is saved.

Every writer (the API, a task, the CLI) says who it is and what it expects with a
:class:`WriteIntent`. :func:`refusal` decides, inside the writer's unit of work, whether the
write may happen: an ``If-Match`` revision must be the stored one, and an object another
manager manages (``managed_by``) is refused unless ``force``. A refusal is a returned value
with its reason; each surface raises its own error from it (409 in the API, a failed task in a
flow), so a refused write changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from controlplane.engine.ports import FlowRecord, Repositories
from controlplane.errors import WeirError
from controlplane.spec.flow import Flow


class Governed(Protocol):
    @property
    def managed_by(self) -> str | None: ...

    @property
    def revision(self) -> int: ...


@dataclass(frozen=True)
class WriteIntent:
    manager: str | None
    """Who writes (``X-Weir-Manager``); becomes the object's ``managed_by``."""
    if_match: int | None = None
    """The revision the writer last saw; 0 for "only if it does not exist"."""
    force: bool = False
    """Take over an object managed by someone else."""


@dataclass(frozen=True)
class Refusal:
    reason: Literal["stale", "managed"]
    """``stale``: the ``If-Match`` revision is not the stored one; ``managed``: another
    manager manages the object."""
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def refusal(kind: str, name: str, stored: Governed | None, intent: WriteIntent) -> Refusal | None:
    """Why ``intent`` may not write the ``stored`` object (None when it may)."""
    if intent.if_match is not None:
        current = stored.revision if stored is not None else 0
        if current != intent.if_match:
            state = f"is at revision {current}" if stored is not None else "does not exist"
            return Refusal(
                "stale",
                f"{kind} {name} {state}, not revision {intent.if_match} as If-Match expects; "
                "read it again and retry",
                {
                    "revision": current if stored is not None else None,
                    "managed_by": stored.managed_by if stored is not None else None,
                },
            )
    if stored is None or intent.force:
        return None
    owner = stored.managed_by
    if owner is None or owner == intent.manager or _adopts(intent.manager, owner):
        return None
    writer = f"'{intent.manager}'" if intent.manager else "a writer without X-Weir-Manager"
    return Refusal(
        "managed",
        f"{kind} {name} is managed by '{owner}', not by {writer}; change it there, or move "
        f"it: {owner} lets it go (Terraform: a removed block with destroy = false; GitOps: "
        "the file deleted with prune off), then one write here with force=true takes it over",
        {"managed_by": owner, "revision": stored.revision, "writer": intent.manager},
    )


def _adopts(manager: str | None, owner: str) -> bool:
    """A Terraform state (``terraform:<id>``) adopts what Terraform wrote before owners were
    per state (``terraform``)."""
    return owner == "terraform" and manager is not None and manager.startswith("terraform:")


class WriteRefused(WeirError):
    """A refused write, where the writer has no error of its own for it."""

    code = "write_refused"

    def __init__(self, found: Refusal) -> None:
        super().__init__(found.message)
        self.refusal = found


@dataclass(frozen=True)
class Saved:
    stored: FlowRecord | None
    """The flow's latest revision before the write (None: it did not exist)."""
    saved: FlowRecord

    @property
    def changed(self) -> bool:
        return self.stored is None or self.saved.revision != self.stored.revision


def save_flow(
    repos: Repositories,
    flow: Flow,
    source: str,
    intent: WriteIntent,
    refuse: Callable[[Refusal], Exception] = WriteRefused,
) -> Saved:
    """Save the validated ``flow`` (its ``source``) as its next revision, in the caller's unit of
    work; an unchanged source and manager make no new revision. A refused write raises what
    ``refuse`` makes of the refusal."""
    stored = repos.flows.read_flow(flow.namespace, flow.id)
    found = refusal("flow", flow.ref, stored, intent)
    if found is not None:
        raise refuse(found)
    saved = repos.flows.create_flow_revision(
        flow.namespace, flow.id, source, intent.manager, flow.labels
    )
    return Saved(stored, saved)
