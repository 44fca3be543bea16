"""The state of a group of finished task runs, from the states of its members."""

from __future__ import annotations

from collections.abc import Iterable

from controlplane.engine.model import State

STOPPED = frozenset({State.FAILED, State.KILLED, State.CANCELLED})
"""States after which the tasks that follow in the same list do not start."""

_RANK = {State.SKIPPED: 0, State.SUCCESS: 0, State.WARNING: 1, State.CANCELLED: 2,
         State.FAILED: 3, State.KILLED: 4}  # fmt: skip


def aggregate(states: Iterable[State]) -> State:
    """The state of a group of finished runs: the worst of them."""
    result = State.SUCCESS
    for state in states:
        result = worst(result, state)
    return result


def worst(a: State, b: State) -> State:
    return a if _RANK.get(a, 3) >= _RANK.get(b, 3) else b
