"""Every figure of Weir's performance table, with its baseline measured in the same run and its
ratio to the goal.

Times whole commands as a user runs them (a fresh process each time, start-up included: the
median of ``--runs``, wall and CPU seconds), then runs ``bench/engine.py`` (SQLite),
``bench/api.py`` and ``bench/scale.py`` (PostgreSQL) and reads the figures they write. Prints one
table: figure, measured, baseline, goal, measured / goal, and whether the goal is met. Baselines
are measured in the same run: ``terraform version``, the bare interpreter's start (the floor of
any command), a bare FastAPI app on uvicorn (start to first answer, memory, reads, a page of
1,000 built in memory), the in-process engine. Those of other products (Prefect, Dagster) are not
installed here: they are quoted, and marked so. A benchmark, never a test: it asserts nothing.

Run it with another installation's Python (``/path/to/other/.venv/bin/python bench/run_all.py``)
to measure that installation's ``weir`` with the same script: a before and an after.

    python bench/run_all.py [--runs 7] [--skip engine,api,scale] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import api as api_bench  # bench/api.py, beside this script
import requests

BENCH = Path(__file__).resolve().parent
WEIR = str(Path(sys.executable).parent / "weir")
CORPUS = BENCH.parents[1] / "shared" / "corpus" / "kestra-flows"
# Commands run as installed: with their bytecode cached, whatever this shell says.
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


@dataclass
class Figure:
    name: str
    measured: float
    unit: str
    goal: float
    higher_is_better: bool = False
    baseline: str = "-"
    note: str = ""

    def row(self) -> str:
        met = self.measured >= self.goal if self.higher_is_better else self.measured <= self.goal
        return (
            f"| {self.name} | {self.measured:,.3g} {self.unit}{self.note} | {self.baseline} | "
            f"{'>=' if self.higher_is_better else '<='} {self.goal:g} {self.unit} | "
            f"x{self.measured / self.goal:.2f} | {'yes' if met else 'no'} |"
        )


def flow(tasks: int) -> str:
    return "id: bench\nnamespace: bench\ntasks:\n" + "".join(
        f"  - id: t{i}\n    type: io.kestra.plugin.core.debug.Return\n    format: '{i}'\n"
        for i in range(tasks)
    )


def whole_process(
    argv: Sequence[str], runs: int, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Median wall and CPU seconds of ``argv`` run ``runs`` times (after one warm-up)."""
    walls, cpus = [], []
    env = env or ENV
    for attempt in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if attempt:
            walls.append(wall)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def _seconds(wall_cpu: tuple[float, float]) -> str:
    return f"{wall_cpu[0]:.3f} s (cpu {wall_cpu[1]:.3f} s)"


def _cpu(wall_cpu: tuple[float, float]) -> str:
    return f" (cpu {wall_cpu[1]:.3f} s)"


def cli_figures(runs: int, folder: Path, engine_ms: float | None) -> list[Figure]:
    env = {**ENV, "WEIR_HOME": str(folder / "home")}
    one, many = folder / "one.yaml", folder / "many.yaml"
    one.write_text(flow(1))
    many.write_text(flow(101))
    terraform = shutil.which("terraform")
    yardstick = whole_process([terraform, "version"], runs) if terraform else None
    floor = f"`python -c pass` {_seconds(whole_process([sys.executable, '-c', 'pass'], runs))}"
    help_ = whole_process([WEIR, "--help"], runs)
    validate = whole_process([WEIR, "validate", str(one)], runs)
    run_one = whole_process([WEIR, "run", str(one)], runs, env)
    run_many = whole_process([WEIR, "run", str(many)], runs, env)
    per_task_ms = (run_many[0] - run_one[0]) / 100 * 1000
    figures = [
        Figure("`weir --help`", help_[0], "s", 0.2, note=_cpu(help_),
               baseline=f"`terraform version` {_seconds(yardstick)}" if yardstick else floor),
        Figure("`weir validate one.yaml`", validate[0], "s", 0.3, note=_cpu(validate),
               baseline=floor),
        Figure("`weir run` of a one-task flow, whole process", run_one[0], "s", 0.8,
               note=_cpu(run_one), baseline=floor),
        Figure("`weir run` cost per extra task, whole process", per_task_ms, "ms", 1.0,
               note=f" (cpu {(run_many[1] - run_one[1]) * 10:.2f} ms)",
               baseline=f"in-process engine {engine_ms:.2f} ms" if engine_ms else "-"),
    ]  # fmt: skip
    if CORPUS.is_dir():
        corpus = whole_process([WEIR, "validate", str(CORPUS)], runs)
        count = len(list(CORPUS.glob("*.y*ml")))
        figures.append(
            Figure(f"`weir validate` of the {count}-file corpus", corpus[0], "s", 0.5,
                   note=_cpu(corpus), baseline=floor)
        )  # fmt: skip
    bare = f"bare FastAPI app on uvicorn {bare_ready(runs, folder):.3f} s"
    figures.append(
        Figure("`weir server standalone` start -> ready", server_ready(runs, folder), "s", 1.5,
               baseline=bare)
    )  # fmt: skip
    return figures


def bare_ready(runs: int, folder: Path) -> float:
    """Median seconds from starting a bare FastAPI app on uvicorn to its first answer."""
    times = []
    for attempt in range(max(3, runs // 2)):
        home = folder / f"bare{attempt}"
        home.mkdir()
        started = time.perf_counter()
        server = api_bench.start_bare(api_bench.free_port(), home)
        times.append(time.perf_counter() - started)
        server.terminate()
        server.wait(60)
    return statistics.median(times)


def server_ready(runs: int, folder: Path) -> float:
    """Median seconds from starting ``weir server standalone`` to its first healthy answer."""
    times = []
    for attempt in range(max(3, runs // 2)):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        home = folder / f"server{attempt}"
        home.mkdir()
        env = {**ENV, "WEIR_HOME": str(home)}
        env.pop("WEIR_DATABASE_URL", None)
        started = time.perf_counter()
        server = subprocess.Popen(
            [WEIR, "server", "standalone", "--port", str(port)], env=env, cwd=home,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            times.append(_wait_healthy(port) - started)
        finally:
            server.terminate()
            server.wait(60)
    return statistics.median(times)


def _wait_healthy(port: int) -> float:
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).ok:
                return time.perf_counter()
        except requests.RequestException:
            pass  # not listening yet, or too busy starting to answer
        time.sleep(0.02)
    raise SystemExit("the server did not become ready in 120 s")


def run_bench(script: str, arguments: list[str], folder: Path) -> dict[str, object]:
    out = folder / f"{script}.json"
    print(f"-- bench/{script}.py {' '.join(arguments)}", flush=True)
    subprocess.run(
        [sys.executable, str(BENCH / f"{script}.py"), *arguments, "--json", str(out)], check=False
    )
    return json.loads(out.read_text()) if out.exists() else {}


def engine_figures(found: dict[str, object]) -> list[Figure]:
    sqlite = found.get("sqlite")
    if not isinstance(sqlite, dict):
        return []
    values = sqlite["fan_out_values"]
    return [
        Figure("engine overhead per task, 100-task sequential flow (SQLite)", sqlite["per_task_ms"],
               "ms", 0.5, baseline="Prefect 3: 5-10 ms, not durable (quoted)"),
        Figure("one-task executions per second (SQLite)", sqlite["executions_per_s"], "/s", 1000,
               higher_is_better=True, baseline="Dagster in memory 8.75/s (quoted)"),
        Figure(f"ForEach fan-out of {values:,} values (SQLite)", sqlite["fan_out_s"], "s",
               3.0 * values / 10_000, baseline="Prefect 3: 500 in 6.27 s (quoted)"),
    ]  # fmt: skip


def api_figures(found: dict[str, float]) -> list[Figure]:
    if "read_rate" not in found:
        return []
    bare = found["bare_rate"]
    bare_line = f"bare FastAPI on uvicorn {bare:,.0f} req/s, p99 {found['bare_p99']:.0f} ms"
    bare_list = f"bare FastAPI, the page built in memory: {found['bare_list_rate']:,.0f} req/s"
    bare_memory = f"bare FastAPI on uvicorn {found['bare_idle_mb']:.0f} MB"
    return [
        Figure("read one flow over HTTP, 8 clients: share of the bare endpoint",
               found["read_rate"] / bare, "x", 0.7, higher_is_better=True, baseline=bare_line),
        Figure("read one flow over HTTP, 8 clients: p99", found["read_p99"], "ms", 20,
               baseline=f"bare {found['bare_p99']:.1f} ms"),
        Figure("list 1,000 flows", found["list_rate"], "req/s", 50, higher_is_better=True,
               baseline=bare_list),
        Figure("create an execution", found["create_rate"], "req/s", 300, higher_is_better=True),
        Figure("create an execution: p99", found["create_p99"], "ms", 100),
        Figure("server memory idle", found["idle_mb"], "MB", 100, baseline=bare_memory),
        Figure("server memory with 10,000 flows", found["loaded_mb"], "MB", 150,
               baseline=bare_memory),
    ]  # fmt: skip


def scale_figures(found: dict[str, float]) -> list[Figure]:
    figures = []
    if "started_p99_ms" in found:
        figures.append(
            Figure("schedule slot -> execution started, 100 schedules/s (PostgreSQL): p99",
                   found["started_p99_ms"], "ms", 100, baseline="the 1,000 ms slot")
        )  # fmt: skip
    elif found:
        print("bench/scale.py: no slot of the window was started in time; no lag figure")
    rates = sorted((int(k.split("_")[1]), v) for k, v in found.items() if k.startswith("rate_"))
    for workers, rate in rates:
        figures.append(Figure(f"one-task executions/s, separate processes, {workers} worker(s)",
                              rate, "/s", 500, higher_is_better=True))  # fmt: skip
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each whole command")
    parser.add_argument("--skip", default="", help="comma-separated: engine, api, scale")
    parser.add_argument("--quick", action="store_true", help="smaller loads, for a first look")
    args = parser.parse_args()
    skip = set(args.skip.split(",")) - {""}
    with tempfile.TemporaryDirectory(prefix="weir-bench-all-") as temporary:
        folder = Path(temporary)
        engine: dict[str, object] = {}
        if "engine" not in skip:
            sizes = (
                ["--executions", "200", "--fan-out", "1000"]
                if args.quick
                else ["--executions", "1000", "--fan-out", "10000"]
            )
            engine = run_bench("engine", ["--backend", "sqlite", *sizes], folder)
        sqlite = engine.get("sqlite")
        engine_ms = sqlite["per_task_ms"] if isinstance(sqlite, dict) else None
        figures = engine_figures(engine)
        print("-- whole commands", flush=True)
        figures += cli_figures(args.runs, folder, engine_ms)
        if "api" not in skip:
            flows = ["--flows", "2000"] if args.quick else []
            figures += api_figures(run_bench("api", flows, folder))  # type: ignore[arg-type]
        if "scale" not in skip:
            quick = (
                ["--executions", "100", "--workers", "1,2", "--seconds", "8"]
                if args.quick
                else ["--workers", "1,2"]
            )
            figures += scale_figures(run_bench("scale", quick, folder))  # type: ignore[arg-type]
    load = os.getloadavg()
    cores = os.cpu_count()
    print(f"\nWeir's performance table ({cores} cores, load average {load[0]:.1f}; medians)\n")
    print("| figure | measured | baseline in the same run | goal | measured / goal | met |")
    print("|---|---|---|---|---|---|")
    for figure in figures:
        print(figure.row())
    return 0


if __name__ == "__main__":
    sys.exit(main())
