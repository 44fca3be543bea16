"""The control-plane rules every write obeys: ``If-Match`` revisions and ``managed_by``.

A router reads the stored object inside its unit of work, calls :func:`check_write` (or
:func:`check_delete`) with it, and writes with ``intent.manager`` as the new ``managed_by``. The
check and the write share the transaction, so a refused write changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, Header, Query, Response

from controlplane.api.errors import BadRequest, ManagedElsewhere, RevisionMismatch


class Governed(Protocol):
    @property
    def managed_by(self) -> str | None: ...

    @property
    def revision(self) -> int: ...


@dataclass(frozen=True)
class WriteIntent:
    manager: str | None
    """Who writes (``X-Weir-Manager``); becomes the object's ``managed_by``."""
    if_match: int | None
    """The revision the writer last saw; 0 for "only if it does not exist"."""
    force: bool
    """Take over an object managed by someone else."""


def parse_if_match(value: str | None) -> int | None:
    if value is None or value.strip() in ("", "*"):
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise BadRequest(
            f'If-Match must be a revision number such as "3", not {value!r}',
            {"header": "If-Match"},
        )
    return int(text)


async def write_intent(
    manager: Annotated[
        str | None,
        Header(
            alias="X-Weir-Manager",
            max_length=200,
            description="Who writes: 'terraform', 'gitops:<source>'; recorded as managed_by.",
        ),
    ] = None,
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=40,
            pattern=r'^(\*|(W/)?"?[0-9]+"?)$',
            description="The revision expected; 0 for 'only if it does not exist'.",
        ),
    ] = None,
    force: Annotated[
        bool, Query(description="Write even though another manager manages the object.")
    ] = False,
) -> WriteIntent:
    return WriteIntent(manager=manager or None, if_match=parse_if_match(if_match), force=force)


Intent = Annotated[WriteIntent, Depends(write_intent)]


def check_write(kind: str, name: str, stored: Governed | None, intent: WriteIntent) -> None:
    """Raise 409 when the write may not happen; otherwise return and let it happen."""
    if intent.if_match is not None:
        current = stored.revision if stored is not None else 0
        if current != intent.if_match:
            state = f"is at revision {current}" if stored is not None else "does not exist"
            raise RevisionMismatch(
                f"{kind} {name} {state}, not revision {intent.if_match} as If-Match expects; "
                "read it again and retry",
                {
                    "revision": current if stored is not None else None,
                    "managed_by": stored.managed_by if stored is not None else None,
                },
            )
    if stored is None or intent.force:
        return
    owner = stored.managed_by
    if owner is None or owner == intent.manager or _adopts(intent.manager, owner):
        return
    writer = f"'{intent.manager}'" if intent.manager else "a writer without X-Weir-Manager"
    raise ManagedElsewhere(
        f"{kind} {name} is managed by '{owner}', not by {writer}; change it there, or move "
        f"it: {owner} lets it go (Terraform: a removed block with destroy = false; GitOps: "
        "the file deleted with prune off), then one write here with force=true takes it over",
        {"managed_by": owner, "revision": stored.revision, "writer": intent.manager},
    )


def _adopts(manager: str | None, owner: str) -> bool:
    """A Terraform state (``terraform:<id>``) adopts what Terraform wrote before owners were
    per state (``terraform``)."""
    return owner == "terraform" and manager is not None and manager.startswith("terraform:")


def tag(response: Response, revision: int) -> None:
    """Answer with the object's revision as its ETag."""
    response.headers["ETag"] = f'"{revision}"'
