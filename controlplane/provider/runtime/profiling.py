"""Profiling a provider process: ``WEIR_PROVIDER_PROFILE=<directory>`` in Terraform's environment.

Each provider process Terraform starts then writes, as it ends, ``<directory>/<pid>.cpu`` (the
process's CPU seconds) and pstats files: ``<pid>.prof`` for the main thread from the start of
``main`` (imports, the server's start, the handshake), and ``<pid>-<n>.prof`` for each thread
started after it (gRPC's poller, the workers that answer calls), since cProfile follows one
thread. Read them together: ``pstats.Stats(*glob.glob("<directory>/<pid>*.prof"))``. Times
are each thread's CPU time (``time.thread_time``): waiting for Terraform, the server or a lock
costs nothing, and a busy machine disturbs the figures little. Never set in normal runs: it
slows every call.
"""

from __future__ import annotations

import cProfile
import marshal
import os
import threading
import time

ENVIRONMENT = "WEIR_PROVIDER_PROFILE"


class Profiles:
    """The main thread's profile and one per thread started since."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._threads: list[cProfile.Profile] = []
        self._lock = threading.Lock()
        run = threading.Thread.run
        profiles = self

        def profiled_run(thread: threading.Thread) -> None:
            profile = cProfile.Profile(time.thread_time)
            with profiles._lock:
                profiles._threads.append(profile)
            profile.runcall(run, thread)

        setattr(threading.Thread, "run", profiled_run)  # noqa: B010 (mypy refuses the assignment)
        self._main = cProfile.Profile(time.thread_time)
        self._main.enable()

    def write(self) -> None:
        """One file per thread, unmerged: Terraform kills a plugin that takes over two seconds
        to end, and merging takes longer on a busy machine."""
        os.makedirs(self.directory, exist_ok=True)
        self._main.create_stats()
        self._main.dump_stats(os.path.join(self.directory, f"{os.getpid()}.prof"))
        with self._lock:
            threads = list(self._threads)
        for index, profile in enumerate(threads, 1):
            # Read from this thread: a worker's profiler stays on, idle, until the exit.
            profile.snapshot_stats()
            with open(os.path.join(self.directory, f"{os.getpid()}-{index}.prof"), "wb") as out:
                marshal.dump(getattr(profile, "stats"), out)  # noqa: B009 (set by snapshot_stats)
        # The whole process's CPU, gRPC's C threads included, which no profile sees.
        used = os.times()
        with open(os.path.join(self.directory, f"{os.getpid()}.cpu"), "w") as out:
            out.write(f"{used.user + used.system:.3f}\n")


def profiles_from_environment() -> Profiles | None:
    directory = os.environ.get(ENVIRONMENT)
    return Profiles(directory) if directory else None
