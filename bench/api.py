"""The API over loopback: requests per second and latency under concurrent clients, and memory.

Starts the real ``weir server standalone`` on 127.0.0.1 with an empty home, then prints:
- the server's resident memory idle;
- the resident memory with 10,000 flows loaded (saved through the API's bulk apply);
- for reading one flow, listing 1,000 flows, and creating executions: requests per second,
  p50 and p99 latency, with ``--clients`` keep-alive connections each keeping one request in
  flight (asyncio in two processes, so that the load costs the machine little next to the
  server).
Each figure is followed by its ratio to Weir's target (>= 1,000 reads/s with p99 <= 50 ms;
<= 150 MB idle; <= 300 MB with 10,000 flows). A benchmark, never a test.

    python bench/api.py [--clients 8] [--seconds 5] [--flows 10000]
"""

from __future__ import annotations

import argparse
import asyncio
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
    env = {**os.environ, "WEIR_HOME": str(home)}
    env.pop("WEIR_DATABASE_URL", None)
    server = subprocess.Popen(
        [WEIR, "server", "standalone", "--port", str(port)],
        env=env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/v1/health"
    for _ in range(300):
        try:
            if requests.get(url, timeout=1).ok:
                return server
        except requests.ConnectionError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not start")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--flows", type=int, default=10_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="weir-bench-") as home:
        port = free_port()
        server = start_server(Path(home), port)
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            time.sleep(1.0)
            idle = rss_mb(server.pid)
            print(f"memory idle: {idle:.0f} MB  (x{idle / 150:.2f} of the 150 MB target)")
            started = time.perf_counter()
            load_flows(base, args.flows)
            loading = time.perf_counter() - started
            loaded = rss_mb(server.pid)
            print(
                f"memory with {args.flows:,} flows: {loaded:.0f} MB  "
                f"(x{loaded / 300:.2f} of the 300 MB target; loaded in {loading:.1f} s)"
            )
            for kind, label in (
                ("read", "read one flow"),
                ("list", "list 1,000 flows"),
                ("create", "create an execution"),
            ):
                rate, p50, p99 = drive(port, kind, args.clients, args.seconds)
                line = f"{label}: {rate:,.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms"
                if kind == "read":
                    line += f"  (x{1000 / rate:.2f} of the 1,000 req/s target, "
                    line += f"x{p99 / 50:.2f} of the 50 ms p99 target)"
                print(line, flush=True)
            print(f"memory after the runs: {rss_mb(server.pid):.0f} MB")
        finally:
            server.terminate()
            server.wait(60)


if __name__ == "__main__":
    main()
