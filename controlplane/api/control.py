"""The control-plane rules every write obeys: ``If-Match`` revisions and ``managed_by``.

A router reads the stored object inside its unit of work, calls :func:`check_write` with it, and
writes with ``intent.manager`` as the new ``managed_by``; a flow is saved with
:func:`controlplane.engine.writes.save_flow`. The check and the write share the transaction, so
a refused write changes nothing. The rule itself is :func:`controlplane.engine.writes.refusal`,
the one every writer obeys.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Response

from controlplane.api.errors import ApiError, BadRequest, ManagedElsewhere, RevisionMismatch
from controlplane.engine.writes import Governed, Refusal, WriteIntent, refusal


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


def conflict(found: Refusal) -> ApiError:
    """The API's answer to a refused write: 409, with what the writer needs to retry."""
    error = RevisionMismatch if found.reason == "stale" else ManagedElsewhere
    return error(found.message, found.details)


def check_write(kind: str, name: str, stored: Governed | None, intent: WriteIntent) -> None:
    """Raise 409 when the write may not happen; otherwise return and let it happen."""
    found = refusal(kind, name, stored, intent)
    if found is not None:
        raise conflict(found)


def tag(response: Response, revision: int) -> None:
    """Answer with the object's revision as its ETag."""
    response.headers["ETag"] = f'"{revision}"'
