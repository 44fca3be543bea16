"""The web UI's time to first render with a large store: 10,000 flows, 100,000 executions, and
one execution with 10,000 log lines.

Fills a fresh home through the store (what the API would write, without waiting for 100,000
runs), starts the real ``weir server standalone`` on it, then prints, as the median of
``--rounds`` requests over loopback:
- the executions list, first page and a page deep in the list (keyset paging);
- the flows list;
- the page of the execution with 10,000 log lines, and its logs as the page reads them;
and, in headless Chromium when it is installed, the time from navigation until the browser
has drawn the executions list and until it has drawn all 10,000 log lines of that execution.
Each figure is followed by its ratio to the goal of 500 ms. A benchmark, never a test.

    python bench/ui.py [--flows 10000] [--executions 100000] [--logs 10000] [--rounds 5]
                       [--home DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from controlplane.engine.model import Execution, State, TaskRun, Transition, new_id
from controlplane.engine.ports import LogEntry
from controlplane.store import StoreSettings, open_store

WEIR = str(Path(sys.executable).parent / "weir")
GOAL_MS = 500.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
FLOW = """id: {id}
namespace: {namespace}
description: Flow {id} of the benchmark
tasks:
  - id: extract
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ execution.id }}}}"
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ outputs.extract.value }}}}"
"""


def fill(home: Path, flows: int, executions: int, logs: int) -> str:
    """Write the flows, executions and log lines; answer the id of the one with the logs."""
    store = open_store(StoreSettings(home=home))
    names = [(f"bench.team{i % 50}", f"flow{i}") for i in range(flows)]
    try:
        with store.unit() as repos:
            for namespace, flow_id in names:
                repos.flows.create_flow_revision(
                    namespace, flow_id, FLOW.format(id=flow_id, namespace=namespace), None
                )
        start = datetime.now(UTC) - timedelta(seconds=executions)
        batch = 10_000
        for first in range(0, executions, batch):
            with store.unit() as repos:
                for n in range(first, min(first + batch, executions)):
                    namespace, flow_id = names[n % len(names)]
                    execution = _execution(namespace, flow_id, start + timedelta(seconds=n))
                    repos.executions.create_execution(execution)
        with store.unit() as repos:
            namespace, flow_id = names[0]
            loud = _execution(namespace, flow_id, datetime.now(UTC))
            repos.executions.create_execution(loud)
            at = loud.started
            repos.logs.create_logs(
                [
                    LogEntry(loud.id, loud.task_runs[1].id, "report", 1, "INFO",
                             f"line {i}: processed batch {i} of the report", at, namespace, flow_id)
                    for i in range(logs)
                ]
            )  # fmt: skip
    finally:
        store.close()
    return loud.id


def _execution(namespace: str, flow_id: str, at: datetime) -> Execution:
    runs = [
        TaskRun(
            id=new_id(),
            task_id=task_id,
            state=State.SUCCESS,
            history=[
                Transition(State.CREATED, at + timedelta(milliseconds=10 * i)),
                Transition(State.RUNNING, at + timedelta(milliseconds=10 * i + 1)),
                Transition(State.SUCCESS, at + timedelta(milliseconds=10 * i + 9)),
            ],
        )
        for i, task_id in enumerate(("extract", "report"))
    ]
    return Execution(
        id=new_id(),
        namespace=namespace,
        flow_id=flow_id,
        flow_revision=1,
        state=State.SUCCESS,
        history=[
            Transition(State.CREATED, at),
            Transition(State.RUNNING, at),
            Transition(State.SUCCESS, at + timedelta(milliseconds=25)),
        ],
        task_runs=runs,
        labels={"team": namespace.rsplit(".", 1)[-1]},
    )


def timed(url: str, rounds: int) -> float:
    """The median time of a full GET, in milliseconds (after one warm-up)."""
    session = requests.Session()
    session.get(url, timeout=60).raise_for_status()
    spent = []
    for _ in range(rounds):
        began = time.perf_counter()
        response = session.get(url, timeout=60)
        response.raise_for_status()
        spent.append((time.perf_counter() - began) * 1000)
    return statistics.median(spent)


def in_browser(base: str, execution_id: str, logs: int, rounds: int) -> dict[str, float]:
    """Medians of ``rounds`` page loads in headless Chromium, by the page's own clock (from
    the start of navigation): the list's first contentful paint (its rows come in the HTML),
    and the moments the execution page drew its first log lines and all of them (its script
    marks both)."""
    from playwright.sync_api import sync_playwright

    figures: dict[str, list[float]] = {"blank": [], "list": [], "first": [], "logs": []}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{base}/ui/executions")  # warm-up
        paint = "performance.getEntriesByName('first-contentful-paint')[0].startTime"
        for _ in range(rounds):
            page.goto(f"{base}/ui/login")  # the smallest page: what the browser alone costs
            page.wait_for_function(f"{paint} > 0")
            figures["blank"].append(float(page.evaluate(paint)))
            page.goto(f"{base}/ui/executions")
            page.locator("#executions tbody tr").nth(49).wait_for()
            page.wait_for_function(f"{paint} > 0")
            figures["list"].append(float(page.evaluate(paint)))
            page.goto(f"{base}/ui/executions/{execution_id}")
            page.locator("#log-count").filter(has_text=f"{logs} lines").wait_for(timeout=60_000)
            page.wait_for_function("performance.getEntriesByName('weir:logs-drawn').length > 0")
            drawn = "performance.getEntriesByName('weir:logs-drawn')[0].startTime"
            figures["logs"].append(float(page.evaluate(drawn)))
            first = "performance.getEntriesByName('weir:logs-first')[0].startTime"
            figures["first"].append(float(page.evaluate(first)))
        browser.close()
    return {name: statistics.median(values) for name, values in figures.items()}


def report(name: str, ms: float) -> None:
    print(f"{name:<58} {ms:8.1f} ms   ratio to goal {ms / GOAL_MS:5.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=10_000)
    parser.add_argument("--executions", type=int, default=100_000)
    parser.add_argument("--logs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--home", type=Path, help="keep the filled store here and reuse it on the next run"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="weir-bench-ui-") as folder:
        home = args.home or Path(folder) / ".weir"
        marker = home / "bench-ui-execution"
        if not marker.exists():
            began = time.perf_counter()
            marker_text = fill(home, args.flows, args.executions, args.logs)
            marker.write_text(marker_text)
            print(
                f"filled {args.flows} flows, {args.executions} executions and {args.logs} log "
                f"lines in {time.perf_counter() - began:.0f} s"
            )
        serve_and_measure(home, marker.read_text(), args)
    return 0


def serve_and_measure(home: Path, loud: str, args: argparse.Namespace) -> None:
    env = {**os.environ, "WEIR_HOME": str(home)}
    command = [WEIR, "server", "standalone", "--port", "0", "--grace", "2"]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert server.stdout is not None
        found = None
        while found is None:
            line = server.stdout.readline()
            if not line:
                raise SystemExit("the server stopped before serving")
            found = re.search(r"serving on (http://127\.0\.0\.1:\d+)", line)
        measure(found.group(1), loud, args)
    finally:
        server.terminate()
        server.wait(30)


def measure(base: str, loud: str, args: argparse.Namespace) -> None:
    middle = args.executions // 2
    first = requests.get(f"{base}/api/v1/executions/search?size=1&page={middle}", timeout=60)
    deep = first.json()["results"][0]["id"]
    report("executions list, first page (HTML)", timed(f"{base}/ui/executions", args.rounds))
    report(
        f"executions list, page after execution {middle:,} (HTML)",
        timed(f"{base}/ui/executions?after={deep}", args.rounds),
    )
    report(
        "executions list, one namespace (HTML)",
        timed(f"{base}/ui/executions?namespace=bench.team7", args.rounds),
    )
    report("flows list, first page (HTML)", timed(f"{base}/ui/flows", args.rounds))
    report(
        f"execution with {args.logs} log lines (HTML)",
        timed(f"{base}/ui/executions/{loud}", args.rounds),
    )
    report(
        f"its {args.logs} log lines (JSON, /api/v1)",
        timed(f"{base}/api/v1/executions/{loud}/logs", args.rounds),
    )
    if not Path(CHROMIUM).exists():
        print(f"(no {CHROMIUM}: the in-browser figures are left out)")
        return
    drawn = in_browser(base, loud, args.logs, args.rounds)
    report("Chromium: sign-in page (the browser's own cost), first paint", drawn["blank"])
    report("Chromium: executions list, first contentful paint", drawn["list"])
    report("Chromium: execution drawn with its first log lines", drawn["first"])
    report(f"Chromium: execution drawn with all {args.logs} log lines", drawn["logs"])


if __name__ == "__main__":
    sys.exit(main())
