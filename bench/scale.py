"""Weir as separate processes on PostgreSQL: throughput by number of workers, and schedule lag.

Starts a PostgreSQL of its own (``initdb``/``pg_ctl``) and real ``weir server executor``,
``worker`` and ``scheduler`` processes on it, then measures:

- one-task executions per second with 1, 2 and 4 worker processes (``--concurrency`` attempts
  each) behind one executor: ``--executions`` started at once (after a warm-up), timed until the
  last one ended;
- with ``--schedules`` flows whose Schedule fires every second (six-field cron), the lag between
  each slot (``trigger.date``) and its execution's start (RUNNING), over ``--seconds`` seconds
  after a warm-up.

Prints the figures and their ratios (throughput against one worker; lag against the one-second
slot). A benchmark, never a test.

    python bench/scale.py [--executions 300] [--concurrency 4] [--schedules 100] [--seconds 15]
        [--json FILE]

``--json`` also writes the figures for ``bench/run_all.py``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import controlplane.tasks  # noqa: F401  (registers the task implementations)
from controlplane.engine.engine import EngineSettings
from controlplane.engine.model import State
from controlplane.engine.remote import RemoteCommands
from controlplane.store import StoreSettings, open_store
from controlplane.store.store import SqlStore
from tests.postgres import PostgresServer, postgres_bindir, start_server, stop_server
from tests.processes import Part

ONE_TASK = """id: one
namespace: scale
tasks:
  - id: only
    type: io.kestra.plugin.core.debug.Return
    format: "{{ execution.id }}"
"""

EVERY_SECOND = """id: tick{n}
namespace: scale.schedules
triggers:
  - id: every_second
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
    allowConcurrent: true
tasks:
  - id: only
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ trigger.date }}}}"
"""


@contextmanager
def database(server: PostgresServer, name: str, folder: Path) -> Iterator[dict[str, str]]:
    """A fresh database and the environment of the processes that share it."""
    with server.connect() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    home = folder / name
    yield {
        **os.environ,
        "WEIR_HOME": str(home),
        "WEIR_DATABASE_URL": server.url(name),
        "WEIR_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
    }


def ended(store: SqlStore) -> int:
    with store.unit(read_only=True) as repos:
        counts = repos.executions.count_executions_by_state()
    return sum(count for state, count in counts.items() if state.terminal)


def wait_ended(store: SqlStore, total: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while ended(store) < total:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {ended(store)} of {total} executions ended in {timeout}s")
        time.sleep(0.02)


def throughput(
    server: PostgresServer, folder: Path, workers: int, args: argparse.Namespace
) -> float:
    with database(server, f"throughput_{workers}", folder) as env, ExitStack() as stack:
        settings = StoreSettings.from_env(env)
        store = open_store(settings)
        stack.callback(store.close)
        with store.unit() as repos:
            repos.flows.create_flow_revision("scale", "one", ONE_TASK, None)
        parts = [Part("executor", env, folder)] + [
            Part("worker", env, folder, "--concurrency", str(args.concurrency))
            for _ in range(workers)
        ]
        for part in parts:
            part.start()
            stack.callback(part.stop)
        api = RemoteCommands(store, EngineSettings(work_root=settings.home / "work"))
        warm = 20
        for _ in range(warm):
            api.create_execution("scale", "one")
        wait_ended(store, warm)
        start = time.perf_counter()
        for _ in range(args.executions):
            api.create_execution("scale", "one")
        wait_ended(store, warm + args.executions)
        return args.executions / (time.perf_counter() - start)


def schedule_lag(
    server: PostgresServer, folder: Path, args: argparse.Namespace
) -> tuple[list[float], list[float]]:
    """(slot to execution created, slot to execution RUNNING) of each slot in the window."""
    with database(server, "schedules", folder) as env, ExitStack() as stack:
        store = open_store(StoreSettings.from_env(env))
        stack.callback(store.close)
        with store.unit() as repos:
            for n in range(args.schedules):
                source = EVERY_SECOND.format(n=n)
                repos.flows.create_flow_revision("scale.schedules", f"tick{n}", source, None)
        parts = [Part("scheduler", env, folder), Part("executor", env, folder)] + [
            Part("worker", env, folder, "--concurrency", str(args.concurrency)) for _ in range(4)
        ]
        for part in parts:
            part.start()
            stack.callback(part.stop)
        wait_ended(store, args.schedules)  # processes up, a first slot fired and run
        time.sleep(2)  # the warm-up
        since = time.time()
        time.sleep(args.seconds)
        until = time.time()
        time.sleep(5)  # let the last slots start
        with store.unit(read_only=True) as repos:
            found, _ = repos.executions.search_executions(
                "scale.schedules", None, None, None, limit=100_000, offset=0
            )
        created, started = [], []
        per_slot: Counter[float] = Counter()
        fired: Counter[float] = Counter()
        for execution in found:
            slot = datetime.fromisoformat((execution.trigger or {})["date"]).timestamp()
            running = [t.at for t in execution.history if t.state is State.RUNNING]
            if since <= slot < until:
                fired[slot] += 1
            if since <= slot < until and running:
                per_slot[slot] += 1
                created.append(execution.history[0].at.timestamp() - slot)
                started.append(running[0].timestamp() - slot)
        print(f"  {len(fired)} slots fired in the window, {sum(fired.values())} executions; "
              f"{len(per_slot)} slots started; executions started per slot: "
              f"{min(per_slot.values(), default=0)} to {max(per_slot.values(), default=0)} "
              f"of {args.schedules}")  # fmt: skip
        return created, started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--schedules", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    server = start_server(postgres_bindir())
    try:
        with tempfile.TemporaryDirectory() as temporary:
            folder = Path(temporary)
            print(f"scale benchmark on {os.cpu_count()} cores, PostgreSQL, one executor")
            rates: dict[int, float] = {}
            for workers in (int(n) for n in args.workers.split(",")):
                rates[workers] = throughput(server, folder, workers, args)
                figures[f"rate_{workers}_workers"] = rates[workers]
                base = rates[min(rates)]
                print(f"  {workers} worker(s) x {args.concurrency}: {rates[workers]:7.1f} "
                      f"one-task executions/s  (x{rates[workers] / base:.2f} of "
                      f"{min(rates)} worker)")  # fmt: skip
            created, started = schedule_lag(server, folder, args)
            for what, lags in (("created", sorted(created)), ("started", sorted(started))):
                if not lags:
                    continue
                p95 = lags[int(0.95 * (len(lags) - 1))]
                p99 = lags[int(0.99 * (len(lags) - 1))]
                figures.update(
                    {
                        f"{what}_median_ms": statistics.median(lags) * 1000,
                        f"{what}_p95_ms": p95 * 1000,
                        f"{what}_p99_ms": p99 * 1000,
                        f"{what}_max_ms": lags[-1] * 1000,
                    }
                )
                print(f"  slot to execution {what} at {args.schedules} schedules/s: median "
                      f"{statistics.median(lags) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
                      f"max {lags[-1] * 1000:.0f} ms  (x{statistics.median(lags):.2f} of the "
                      f"1 s slot)")  # fmt: skip
    finally:
        stop_server(server)
    if args.json:
        args.json.write_text(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
