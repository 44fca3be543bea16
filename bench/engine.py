"""Engine throughput on SQLite and PostgreSQL: per-task overhead, executions per second, fan-out.

Prints, for each backend:
- the overhead per task of a 100-task sequential flow of Return tasks (wall time / 100);
- sustained one-task executions per second (N executions created at once, until all end);
- the wall time of a ForEach over 1,000 values with concurrencyLimit 0.
Each figure is followed by its ratio to Weir's goal (<= 0.5 ms per task, >= 1,000 executions/s,
10,000 values fanned out in <= 3 s, scaled to ``--fan-out``). A benchmark, never a test.

    python bench/engine.py [--backend sqlite|postgresql|both] [--executions N] [--fan-out N]
        [--json FILE]

``--json`` also writes the figures, by backend, for ``bench/run_all.py``.

PostgreSQL is started for the run (initdb/pg_ctl, as the test suite does) unless
``--database-url`` names one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import controlplane.tasks  # noqa: F401  (registers the task implementations)
from controlplane.engine.attempt_context import WorkerSettings
from controlplane.engine.engine import Engine, EngineSettings
from controlplane.engine.model import State
from controlplane.engine.worker import Worker
from controlplane.store import StoreSettings, open_store

SEQUENTIAL = "id: sequential\nnamespace: bench\ntasks:\n" + "".join(
    f"  - id: t{i}\n    type: io.kestra.plugin.core.debug.Return\n    format: '{i}'\n"
    for i in range(100)
)
ONE_TASK = (
    "id: one\nnamespace: bench\ntasks:\n"
    "  - id: t\n    type: io.kestra.plugin.core.debug.Return\n    format: '{{ execution.id }}'\n"
)
PER_TASK_GOAL_S = 0.0005
RATE_GOAL = 1000.0
FAN_OUT_GOAL_S_PER_VALUE = 3.0 / 10_000


def fan_out_flow(values: int) -> str:
    return (
        "id: fanout\nnamespace: bench\ntasks:\n"
        "  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n"
        f'    values: "{{{{ range(1, {values}) }}}}"\n    concurrencyLimit: 0\n    tasks:\n'
        "      - id: t\n        type: io.kestra.plugin.core.debug.Return\n"
        "        format: '{{ taskrun.value }}'\n"
    )


@contextmanager
def running_engine(settings: StoreSettings, threads: int, fan_out: int) -> Iterator[Engine]:
    store = open_store(settings)
    with store.unit() as repos:
        for source in (SEQUENTIAL, ONE_TASK, fan_out_flow(fan_out)):
            flow_id = source.split("\n", 1)[0].removeprefix("id: ")
            repos.flows.create_flow_revision("bench", flow_id, source, None)
    work = settings.home / "work"
    engine = Engine(
        store, Worker(store, WorkerSettings(temp_root=work), threads), EngineSettings(work)
    )
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()
        store.close()


def timed_run(engine: Engine, flow_id: str) -> tuple[float, int]:
    start = time.perf_counter()
    execution = engine.create_execution("bench", flow_id)
    final = engine.wait(execution.id, timeout=300)
    elapsed = time.perf_counter() - start
    if final.state is not State.SUCCESS:
        raise SystemExit(f"{flow_id} ended {final.state.value}")
    return elapsed, len(final.task_runs)


def throughput(engine: Engine, count: int) -> float:
    start = time.perf_counter()
    ids = [engine.create_execution("bench", "one").id for _ in range(count)]
    for execution_id in ids:
        if engine.wait(execution_id, timeout=300).state is not State.SUCCESS:
            raise SystemExit("a one-task execution did not succeed")
    return count / (time.perf_counter() - start)


def measure(
    name: str, settings: StoreSettings, executions: int, repeats: int, fan_out_values: int
) -> dict[str, float]:
    with running_engine(settings, threads=4, fan_out=fan_out_values) as engine:
        timed_run(engine, "sequential")  # warm caches and the flow parse
        per_task = statistics.median(
            timed_run(engine, "sequential")[0] / 100 for _ in range(repeats)
        )
        rate = statistics.median(throughput(engine, executions) for _ in range(repeats))
        fan_out, runs = min(timed_run(engine, "fanout") for _ in range(repeats))
    fan_out_goal = FAN_OUT_GOAL_S_PER_VALUE * fan_out_values
    print(f"{name}")
    print(f"  100-task sequential flow   {per_task * 1000:7.3f} ms per task    "
          f"x{per_task / PER_TASK_GOAL_S:.2f} of the 0.5 ms goal")  # fmt: skip
    print(f"  one-task executions        {rate:7.1f} per second     "
          f"x{rate / RATE_GOAL:.2f} of the 1,000/s goal ({executions} executions)")  # fmt: skip
    print(f"  ForEach over {fan_out_values:,} values  {fan_out:7.3f} s ({runs} task runs)  "
          f"x{fan_out / fan_out_goal:.2f} of the {fan_out_goal:.2f} s goal")  # fmt: skip
    return {
        "per_task_ms": per_task * 1000,
        "executions_per_s": rate,
        "fan_out_s": fan_out,
        "fan_out_values": fan_out_values,
    }


@contextmanager
def temporary_postgres() -> Iterator[str]:
    from tests.postgres import postgres_bindir, start_server, stop_server

    server = start_server(postgres_bindir())
    try:
        with server.connect() as admin:
            admin.execute("CREATE DATABASE bench")
        yield server.url("bench")
    finally:
        stop_server(server)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--executions", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", default=os.environ.get("WEIR_BENCH_DATABASE_URL"))
    parser.add_argument("--fan-out", type=int, default=1000, help="values of the ForEach")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    print(f"engine benchmark on {os.cpu_count()} cores; medians of {args.repeats} runs")
    figures: dict[str, dict[str, float]] = {}
    common = (args.executions, args.repeats, args.fan_out)
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as home:
            figures["sqlite"] = measure("SQLite (WAL)", StoreSettings(home=Path(home)), *common)
    if args.backend in ("postgresql", "both"):
        with tempfile.TemporaryDirectory() as home:
            if args.database_url:
                settings = StoreSettings(
                    home=Path(home), database_url=args.database_url, secret_key=os.urandom(32)
                )
                figures["postgresql"] = measure("PostgreSQL", settings, *common)
            else:
                with temporary_postgres() as url:
                    settings = StoreSettings(
                        home=Path(home), database_url=url, secret_key=os.urandom(32)
                    )
                    figures["postgresql"] = measure(
                        "PostgreSQL (test server, fsync off)", settings, *common
                    )
    if args.json:
        args.json.write_text(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
