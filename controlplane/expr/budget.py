"""A rendering's budget: steps and wall time, and a way for a kill or a timeout to stop it.

Each outermost ``render`` gets a :class:`Budget`; the helpers a template calls (variable access,
function and filter calls, operators) and every loop iteration spend one step. Every 1,024 steps
the budget also checks the clock and whether whoever started the rendering wants it stopped
(``interruptible``), so a task's timeout or a kill ends a runaway loop within milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from controlplane.expr.errors import SandboxViolation

MAX_STEPS = 2_000_000
MAX_SECONDS = 5.0
_CHECK_EVERY = 1024


class RenderingStopped(SandboxViolation):
    """Whoever started the rendering stopped it (a kill, a task's timeout)."""


class Budget:
    def __init__(self, steps: int, seconds: float, stop: Callable[[], bool] | None = None) -> None:
        self.steps_left = steps
        self.steps = steps
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.stop = stop
        self._until_check = _CHECK_EVERY

    def spend(self) -> None:
        self.steps_left -= 1
        self._until_check -= 1
        if self._until_check > 0:
            return
        self._until_check = _CHECK_EVERY
        if self.steps_left <= 0:
            raise SandboxViolation(
                f"rendering took more than {self.steps:,} steps, its budget: simplify the "
                "expression or move the work into a script task"
            )
        if self.stop is not None and self.stop():
            raise RenderingStopped("rendering was stopped (the task was killed or timed out)")
        if time.monotonic() > self.deadline:
            raise SandboxViolation(
                f"rendering took more than {self.seconds:g}s, its budget: simplify the "
                "expression or move the work into a script task"
            )


_current: ContextVar[Budget | None] = ContextVar("weir_render_budget", default=None)
_stopper: ContextVar[Callable[[], bool] | None] = ContextVar("weir_render_stop", default=None)


@contextmanager
def interruptible(stop: Callable[[], bool]) -> Iterator[None]:
    """Renderings started inside stop when ``stop()`` turns true."""
    token = _stopper.set(stop)
    try:
        yield
    finally:
        _stopper.reset(token)


@contextmanager
def budget(steps: int, seconds: float) -> Iterator[None]:
    """A budget for the rendering inside, unless one is running already (nested render())."""
    if _current.get() is not None:
        yield
        return
    token = _current.set(Budget(steps, seconds, _stopper.get()))
    try:
        yield
    finally:
        _current.reset(token)


def spend() -> None:
    """One step of the running rendering (nothing outside one)."""
    current = _current.get()
    if current is not None:
        current.spend()


def metered(items: Iterable[object]) -> Iterator[object]:
    """``items``, spending one step per item."""
    for item in items:
        spend()
        yield item
