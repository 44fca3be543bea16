"""Waiting on progress instead of the clock.

A fixed deadline fails a slow machine that is still working; ``wait_while_advancing`` fails only
when the thing watched stops changing: it polls a snapshot of the work (counts of states, rows,
lines) and gives up when that snapshot has stayed the same for ``stall`` seconds in a row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

Snapshot = TypeVar("Snapshot")


class Stalled(AssertionError):
    """Nothing advanced for the whole stall window."""


def wait_while_advancing(
    snapshot: Callable[[], Snapshot],
    done: Callable[[Snapshot], bool],
    what: str,
    stall: float = 120.0,
    poll: float = 0.5,
) -> Snapshot:
    """Poll ``snapshot()`` until ``done`` holds for it; return that snapshot.

    Any change of the snapshot counts as progress and restarts the stall window; the wait fails
    with :class:`Stalled` (naming ``what`` and the last snapshot) once ``stall`` seconds pass
    without one. There is no limit on the total time while the work advances."""
    current = snapshot()
    changed = time.monotonic()
    while not done(current):
        if time.monotonic() - changed > stall:
            raise Stalled(f"{what}: nothing advanced for {stall:g}s; last seen {current!r}")
        time.sleep(poll)
        latest = snapshot()
        if latest != current:
            current, changed = latest, time.monotonic()
    return current
