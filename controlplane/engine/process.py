"""How attempts are stopped: cancel events, the timer thread, and process groups.

Local subprocesses of a task attempt are stopped as a whole process group on kill or timeout.

A process runs in its own session (``start_new_session=True``), so the children it starts
(``sleep 100 &``) share its process group and die with it. Its stdout and stderr are read line
by line by two threads while the attempt's thread waits for the exit; nothing polls. A kill is
pushed, not polled for: :class:`CancelEvent` runs callbacks when it is set, and the one that
``run_process`` registers sends SIGTERM to the group, then SIGKILL after the grace period.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from controlplane.engine.runnable import TaskKilled

_log = logging.getLogger(__name__)

LineHandler = Callable[[str, bool], None]
"""Receives each output line (without its line break) and whether it came from stderr."""

_DRAIN_SECONDS = 1.0
"""How long the pipes may stay open after the process exits (a child still holding them)."""


class CancelEvent(threading.Event):
    """An Event that also runs callbacks when set, so waiters need not poll it."""

    def __init__(self) -> None:
        super().__init__()
        self._callbacks: list[Callable[[], None]] = []
        self._callbacks_lock = threading.Lock()

    def set(self) -> None:
        with self._callbacks_lock:
            if self.is_set():
                return
            super().set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            _call_safely(callback)

    def on_set(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback`` once when set (now if already set); returns an unregister function."""
        with self._callbacks_lock:
            if not self.is_set():
                self._callbacks.append(callback)
                return lambda: self._remove(callback)
        _call_safely(callback)
        return lambda: None

    def _remove(self, callback: Callable[[], None]) -> None:
        with self._callbacks_lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)


def _call_safely(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:  # a failing callback must not stop the others
        _log.exception("cancel callback failed")


# -- timers (timeouts, live log flushes) -------------------------------------------------------


@dataclass(order=True)
class Timer:
    when: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    """One daemon thread that runs callbacks at given times (timeouts, live log flushes)."""

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(time.monotonic() + delay, next(self._seq), callback)
        with self._cond:
            if len(self._heap) > 1024 and len(self._heap) > 2 * self._live():
                self._heap = [t for t in self._heap if not t.cancelled]
                heapq.heapify(self._heap)
            heapq.heappush(self._heap, timer)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="weir-timers", daemon=True)
                self._thread.start()
            elif self._heap[0] is timer:
                self._cond.notify()
        return timer

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _live(self) -> int:
        return sum(1 for t in self._heap if not t.cancelled)

    def _loop(self) -> None:
        with self._cond:
            while not self._closed:
                while self._heap and self._heap[0].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                delay = self._heap[0].when - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                timer = heapq.heappop(self._heap)
                self._cond.release()
                try:
                    timer.callback()
                except Exception:
                    _log.exception("timer callback failed")
                finally:
                    self._cond.acquire()


# -- processes -----------------------------------------------------------------------------------


def run_process(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    on_line: LineHandler,
    cancelled: CancelEvent,
    grace_seconds: float,
) -> int:
    """Run ``args`` in a new process group; returns the exit code, raises TaskKilled on cancel."""
    if cancelled.is_set():
        raise TaskKilled("the task was stopped before its process started")
    process = subprocess.Popen(
        list(args),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    readers = [
        threading.Thread(target=_pump, args=(process.stdout, False, on_line), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, True, on_line), daemon=True),
    ]
    for reader in readers:
        reader.start()
    stopper = _GroupStopper(process.pid, grace_seconds)
    unregister = cancelled.on_set(stopper.terminate)
    try:
        code = process.wait()
    finally:
        unregister()
    drain = grace_seconds if cancelled.is_set() else _DRAIN_SECONDS
    for reader in readers:
        reader.join(drain)
    if cancelled.is_set() or any(reader.is_alive() for reader in readers):
        # Children outlived the process (or the attempt is being stopped): end the group.
        stopper.kill()
        for reader in readers:
            reader.join()
    if cancelled.is_set():
        raise TaskKilled(f"the process was stopped (exit code {code})")
    return code


class _GroupStopper:
    """SIGTERM to the group, then SIGKILL once the grace period is over."""

    def __init__(self, pgid: int, grace_seconds: float) -> None:
        self.pgid = pgid
        self.grace_seconds = grace_seconds
        self._escalation: threading.Timer | None = None

    def terminate(self) -> None:
        _signal_group(self.pgid, signal.SIGTERM)
        self._escalation = threading.Timer(self.grace_seconds, self.kill)
        self._escalation.daemon = True
        self._escalation.start()

    def kill(self) -> None:
        if self._escalation is not None:
            self._escalation.cancel()
        _signal_group(self.pgid, signal.SIGKILL)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
        os.killpg(pgid, sig)


def _pump(stream: IO[bytes], is_stderr: bool, on_line: LineHandler) -> None:
    with stream:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            try:
                on_line(line, is_stderr)
            except Exception:  # keep draining the pipe, or the process blocks on write
                _log.exception("output line handler failed")
