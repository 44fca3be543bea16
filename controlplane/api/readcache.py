"""Reads of flows (one flow, a search) answered again from memory while the database has not
changed.

Reading a flow through its route costs routing, dependencies, a transaction and serialization:
several times what sending the answer costs; a page of a thousand flows, a thousand times that.
The store's change stamp (SQLite's data version, which moves whenever any connection of any
process commits) tells, for a few microseconds, that nothing was written since an answer was
made: the flows, the token that read them and everything else the answer depends on are then
what they were, and the same bytes are the answer. Any write makes the next read go through the
route again.

Only successful answers are kept, for the exact request (path, query and token), no longer than
the token that was allowed them lives, and within a budget of bytes (the oldest go first). A
store without a change stamp (PostgreSQL) is always read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.datastructures import State
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from controlplane.engine.model import now

KEPT_BYTES = 8 * 1024 * 1024
"""The bodies kept weigh at most this; the oldest go first."""

_FLOW_READS = re.compile(r"^/api/v1/flows/(?:search|[^/]+/[^/]+)$")


@dataclass(frozen=True)
class _Answer:
    stamp: int
    start: Message
    body: bytes
    expires: datetime | None


class CachedFlowReads:
    """ASGI middleware: a GET of one flow or of a search of flows is answered from memory
    while the stamp holds."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state
        self._answers: dict[tuple[str, bytes, bytes], _Answer] = {}
        self._bytes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stamp = self._stamp() if _reads_flows(scope) else None
        if stamp is None:
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope["query_string"], _authorization(scope))
        kept = self._answers.get(key)
        if kept is not None and kept.stamp == stamp and _alive(kept.expires):
            await send(kept.start)
            await send({"type": "http.response.body", "body": kept.body})
            return
        await self._answer_and_keep(scope, receive, send, key, stamp)

    async def _answer_and_keep(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        key: tuple[str, bytes, bytes],
        stamp: int,
    ) -> None:
        start: Message | None = None
        parts: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if not message.get("more_body", False) and start and start["status"] == 200:
                    self._keep(key, _Answer(stamp, start, b"".join(parts), _expiry(scope)))
            await send(message)

        await self.app(scope, receive, keep)

    def _keep(self, key: tuple[str, bytes, bytes], answer: _Answer) -> None:
        if len(answer.body) > KEPT_BYTES // 4:
            return
        self._forget(key)
        while self._answers and self._bytes + len(answer.body) > KEPT_BYTES:
            self._forget(next(iter(self._answers)))
        self._answers[key] = answer
        self._bytes += len(answer.body)

    def _forget(self, key: tuple[str, bytes, bytes]) -> None:
        gone = self._answers.pop(key, None)
        if gone is not None:
            self._bytes -= len(gone.body)

    def _stamp(self) -> int | None:
        store = getattr(self.state, "store", None)
        change_stamp: Callable[[], int | None] | None = getattr(store, "change_stamp", None)
        return change_stamp() if change_stamp is not None else None


def _reads_flows(scope: Scope) -> bool:
    return bool(
        scope["type"] == "http" and scope["method"] == "GET" and _FLOW_READS.match(scope["path"])
    )


def _authorization(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bytes(value)
    return b""


def _expiry(scope: Scope) -> datetime | None:
    state: dict[str, Any] = scope.get("state") or {}
    expires = state.get("token_expires")
    return expires if isinstance(expires, datetime) else None


def _alive(expires: datetime | None) -> bool:
    return expires is None or now() < expires
