"""The API over loopback: requests per second and latency under concurrent clients, and memory.

Starts the real ``weir server standalone`` on 127.0.0.1 with an empty home, then prints:
- the server's resident memory idle;
- the resident memory with 10,000 flows loaded (saved through the API's bulk apply);
- for reading one flow, listing 1,000 flows, and creating executions: requests per second,
  p50 and p99 latency, with ``--clients`` keep-alive connections each keeping one request in
  flight (asyncio in two processes, so that the load costs the machine little next to the
  server).
The baselines are measured in the same run with the same clients: a bare FastAPI app on uvicorn
(its start to first answer, its resident memory, one endpoint answering a JSON body of the size of
a flow read, another a page of 1,000 flow summaries built in memory). Each figure is followed by
its baseline and its ratio to Weir's goal (reads at least 0.7x the bare endpoint with p99 under
20 ms; 50 lists of 1,000 flows a second; 300 executions created a second with p99 under 100 ms;
start to ready under 1.5 s; <= 100 MB idle; <= 150 MB with 10,000 flows). A benchmark, never a
test.

    python bench/api.py [--clients 8] [--seconds 5] [--flows 10000] [--json FILE]

``--json`` also writes the figures for ``bench/run_all.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
WEIR = str(Path(sys.executable).parent / "weir")
PER_NAMESPACE = 500
# Servers run as installed: with their bytecode cached, whatever this shell says.
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}

FLOW = """id: {id}
namespace: {namespace}
description: Flow {id} of the benchmark
labels:
  team: bench
inputs:
  - id: day
    type: STRING
    defaults: "2026-01-01"
tasks:
  - id: extract
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ inputs.day }}}}"
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ outputs.extract.value }}}}"
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else float("nan")


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**ENV, "WEIR_HOME": str(home)}
    env.pop("WEIR_DATABASE_URL", None)
    server = subprocess.Popen(
        [WEIR, "server", "standalone", "--port", str(port)],
        env=env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_ready(server, f"http://127.0.0.1:{port}/api/v1/health")
    return server


BARE_APP = """
from datetime import UTC, datetime

from fastapi import FastAPI

app = FastAPI()
BODY = {"namespace": "bench.n000", "id": "f00042", "source": "x" * 420, "labels": {"a": "b"}}
SUMMARY = {"namespace": "bench.n000", "revision": 1, "description": "Flow of the benchmark",
           "labels": {"team": "bench"}, "managed_by": None, "disabled": False}


@app.get("/api/v1/flows/search")
def search(size: int = 100) -> dict[str, object]:
    updated = datetime.now(UTC)
    results = [{**SUMMARY, "id": f"f{i:05d}", "updated": updated} for i in range(size)]
    return {"results": results, "total": 10_000}


@app.get("/api/v1/flows/{namespace}/{flow_id}")
async def read(namespace: str, flow_id: str) -> dict[str, object]:
    return BODY
"""


def start_bare(port: int, folder: Path) -> subprocess.Popen[bytes]:
    """The yardstick: a bare FastAPI app on uvicorn, as the server runs its app."""
    (folder / "bare_app.py").write_text(BARE_APP)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port),
         "--log-level", "warning"],
        cwd=folder, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_ready(server, f"http://127.0.0.1:{port}/api/v1/flows/bench.n000/f00042")
    return server


def wait_ready(server: subprocess.Popen[bytes], url: str) -> None:
    """Until ``url`` answers (polled every 10 ms); the process is killed if it never does."""
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        try:
            if requests.get(url, timeout=5).ok:
                return
        except requests.RequestException:
            time.sleep(0.01)  # not listening yet, or too busy starting to answer
    server.kill()
    raise SystemExit(f"{url} did not answer within 120 s")


def load_flows(base: str, count: int) -> None:
    with requests.Session() as session:
        for start in range(0, count, PER_NAMESPACE):
            namespace = f"bench.n{start // PER_NAMESPACE:03d}"
            sources = [
                FLOW.format(id=f"f{i:05d}", namespace=namespace)
                for i in range(start, min(start + PER_NAMESPACE, count))
            ]
            answer = session.post(
                f"{base}/namespaces/{namespace}/flows",
                data="---\n".join(sources).encode(),
                headers={"Content-Type": "application/x-yaml"},
                timeout=300,
            )
            answer.raise_for_status()


async def _connection(
    host: str, port: int, request: bytes, deadline: float, latencies: list[float]
) -> None:
    """One keep-alive connection sending ``request`` again as soon as each answer is read."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (started := time.perf_counter()) < deadline:
            writer.write(request)
            status = await reader.readline()
            if not status.startswith(b"HTTP/1.1 2"):
                raise SystemExit(f"the server answered {status.decode().strip()}")
            length = 0
            while (header := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = header.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


def _client(
    port: int,
    request: bytes,
    connections: int,
    seconds: float,
    out: multiprocessing.Queue[list[float]],
) -> None:
    latencies: list[float] = []

    async def run() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *(
                _connection("127.0.0.1", port, request, deadline, latencies)
                for _ in range(connections)
            )
        )

    asyncio.run(run())
    out.put(latencies)


def http_request(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


REQUESTS = {
    "read": http_request("GET", "/api/v1/flows/bench.n000/f00042"),
    "list": http_request("GET", "/api/v1/flows/search?namespace=bench&size=1000"),
    "create": http_request("POST", "/api/v1/executions/bench.n000/f00007", b'{"inputs": {}}'),
}


def drive(port: int, kind: str, clients: int, seconds: float) -> tuple[float, float, float]:
    """(requests per second, p50 ms, p99 ms) with ``clients`` connections, each keeping one
    request in flight, spread over two client processes."""
    results: multiprocessing.Queue[list[float]] = multiprocessing.Queue()
    processes = 2
    workers = [
        multiprocessing.Process(
            target=_client,
            args=(port, REQUESTS[kind], max(1, clients // processes), seconds, results),
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    latencies = [value for _ in workers for value in results.get()]
    for worker in workers:
        worker.join()
    latencies.sort()
    rate = len(latencies) / seconds
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    return rate, p50, p99


def bare_baseline(args: argparse.Namespace, figures: dict[str, float]) -> None:
    """The bare app's start to first answer, memory, reads and lists, into ``figures``."""
    with tempfile.TemporaryDirectory(prefix="weir-bench-bare-") as folder:
        port = free_port()
        started = time.perf_counter()
        server = start_bare(port, Path(folder))
        figures["bare_ready_s"] = time.perf_counter() - started
        try:
            time.sleep(1.0)
            figures["bare_idle_mb"] = rss_mb(server.pid)
            for kind in ("read", "list"):
                rate, p50, p99 = drive(port, kind, args.clients, args.seconds)
                figures.update({f"bare_{kind}_rate": rate, f"bare_{kind}_p50": p50})
                figures[f"bare_{kind}_p99"] = p99
        finally:
            server.terminate()
            server.wait(60)
    # The names bench/run_all.py reads.
    figures.update(bare_rate=figures["bare_read_rate"], bare_p99=figures["bare_read_p99"])
    print(
        f"bare FastAPI app: ready in {figures['bare_ready_s']:.2f} s, "
        f"{figures['bare_idle_mb']:.0f} MB idle; read {figures['bare_rate']:,.0f} req/s, "
        f"p99 {figures['bare_p99']:.1f} ms; a page of 1,000 built in memory "
        f"{figures['bare_list_rate']:,.0f} req/s"
    )


def measure_server(args: argparse.Namespace, figures: dict[str, float]) -> None:
    with tempfile.TemporaryDirectory(prefix="weir-bench-") as home:
        port = free_port()
        started = time.perf_counter()
        server = start_server(Path(home), port)
        ready = figures["ready_s"] = time.perf_counter() - started
        print(
            f"start -> ready: {ready:.2f} s (bare app {figures['bare_ready_s']:.2f} s; "
            f"x{ready / 1.5:.2f} of the 1.5 s goal)"
        )
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            time.sleep(1.0)
            idle = figures["idle_mb"] = rss_mb(server.pid)
            print(
                f"memory idle: {idle:.0f} MB (bare app {figures['bare_idle_mb']:.0f} MB; "
                f"x{idle / 100:.2f} of the 100 MB goal)"
            )
            started = time.perf_counter()
            load_flows(base, args.flows)
            loading = time.perf_counter() - started
            loaded = figures["loaded_mb"] = rss_mb(server.pid)
            print(
                f"memory with {args.flows:,} flows: {loaded:.0f} MB  "
                f"(x{loaded / 150:.2f} of the 150 MB goal; loaded in {loading:.1f} s)"
            )
            for kind, label in (
                ("read", "read one flow"),
                ("list", "list 1,000 flows"),
                ("create", "create an execution"),
            ):
                rate, p50, p99 = drive(port, kind, args.clients, args.seconds)
                figures.update({f"{kind}_rate": rate, f"{kind}_p50": p50, f"{kind}_p99": p99})
                print(f"{label}: {rate:,.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms", flush=True)
            print(f"memory after the runs: {rss_mb(server.pid):.0f} MB")
        finally:
            server.terminate()
            server.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--flows", type=int, default=10_000)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    bare_baseline(args, figures)
    measure_server(args, figures)
    rate = figures["bare_rate"]
    print(
        f"read one flow: x{figures['read_rate'] / rate:.2f} of the bare endpoint "
        f"(goal 0.7); p99 x{figures['read_p99'] / 20:.2f} of the 20 ms goal"
    )
    print(
        f"list 1,000 flows: x{figures['list_rate'] / 50:.2f} of the 50 req/s goal "
        f"(bare app's page built in memory: {figures['bare_list_rate']:,.0f} req/s)"
    )
    print(
        f"create an execution: x{figures['create_rate'] / 300:.2f} of the 300 req/s goal; "
        f"p99 x{figures['create_p99'] / 100:.2f} of the 100 ms goal"
    )
    if args.json:
        args.json.write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
