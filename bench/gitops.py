"""The GitOps reconciler at scale: a repository of N flows across M namespaces, already in sync.

Starts the real ``weir server standalone`` on 127.0.0.1 with an empty home, writes a git
repository of ``--namespaces`` x ``--per-namespace`` small flows, and applies it once (timed, for
reference). Then, ``--repeat`` times:

- a no-change ``weir gitops plan`` as a user runs it (a new process: wall time), and the same plan
  in process, counting every HTTP request it makes;
- a commit changing one flow, fetched, then planned and applied: the time from after the fetch to
  the flow updated on the server (the fetch of a local repository is timed apart).

Prints medians and the targets (no-change plan under 3 s with requests growing with namespaces,
not flows; a one-flow change applied under 1 s after the fetch). A benchmark, never a test.

    python bench/gitops.py [--namespaces 100] [--per-namespace 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from api import free_port, start_server

from controlplane.client import WeirClient
from controlplane.gitops.apply import apply_plan
from controlplane.gitops.plan import make_plan
from controlplane.gitops.reconcile import reconcile
from controlplane.gitops.source import fetch

WEIR = str(Path(sys.executable).with_name("weir"))
FLOW = """id: f{index:03d}
namespace: {namespace}
description: Flow {index} of the benchmark
inputs:
  - id: day
    type: STRING
    defaults: "2026-01-01"
tasks:
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "{message} {{{{ inputs.day }}}}"
"""


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def write_repo(root: Path, namespaces: int, per_namespace: int) -> None:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "bench@example.com")
    git(root, "config", "user.name", "bench")
    (root / "weir.yaml").write_text("name: bench\nnamespaces: [bench]\n")
    for n in range(namespaces):
        namespace = f"bench.n{n:03d}"
        flows = root / "namespaces" / namespace / "flows"
        flows.mkdir(parents=True)
        for index in range(per_namespace):
            text = FLOW.format(index=index, namespace=namespace, message="Day")
            (flows / f"f{index:03d}.yaml").write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")


def counted_plan(url: str, root: Path) -> tuple[float, int, int]:
    """Seconds, HTTP requests and exit code of a no-change plan made in this process."""
    requests_made = 0

    def count(*_args: Any, **_kwargs: Any) -> None:
        nonlocal requests_made
        requests_made += 1

    started = time.perf_counter()
    with WeirClient(url, manager="gitops:bench") as client:
        client.session.hooks["response"].append(count)
        plan = make_plan(client, fetch(str(root)))
    return time.perf_counter() - started, requests_made, plan.exit_code


def cli_plan(url: str, root: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [WEIR, "gitops", "plan", "--source", str(root), "--server", url],
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"a no-change plan exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return elapsed


def one_flow_change(url: str, root: Path, namespaces: int, round_: int) -> tuple[float, float]:
    """Seconds to fetch, and seconds from after the fetch to the flow updated on the server."""
    namespace = f"bench.n{namespaces // 2:03d}"
    path = root / "namespaces" / namespace / "flows" / "f000.yaml"
    message = f"Round {round_}"
    path.write_text(FLOW.format(index=0, namespace=namespace, message=message))
    git(root, "commit", "-q", "-am", f"change f000, round {round_}")
    started = time.perf_counter()
    checkout = fetch(str(root))
    fetched = time.perf_counter()
    with WeirClient(url, manager="gitops:bench") as client:
        plan = make_plan(client, checkout)
        applied = apply_plan(client, plan)
        done = time.perf_counter()
        if len(applied.updated) != 1 or message not in client.flows.get(namespace, "f000").source:
            raise SystemExit(f"the change was not applied as expected: {applied}")
    return fetched - started, done - fetched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--namespaces", type=int, default=100)
    parser.add_argument("--per-namespace", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    total = args.namespaces * args.per_namespace
    with tempfile.TemporaryDirectory(prefix="weir-bench-gitops-") as scratch:
        work = Path(scratch)
        home = work / "home"
        home.mkdir()
        port = free_port()
        server = start_server(home, port)
        url = f"http://127.0.0.1:{port}"
        try:
            root = work / "repo"
            write_repo(root, args.namespaces, args.per_namespace)
            started = time.perf_counter()
            first = reconcile(str(root), server=url)
            if not first.ready:
                raise SystemExit(first.line())
            print(
                f"\nfirst apply of {total:,} flows in {args.namespaces} namespaces: "
                f"{time.perf_counter() - started:.1f} s ({first.message})"
            )
            cli, inproc, counts, fetches, changes = [], [], [], [], []
            for round_ in range(args.repeat):
                cli.append(cli_plan(url, root))
                seconds, made, code = counted_plan(url, root)
                if code != 0:
                    raise SystemExit(f"the in-process no-change plan exited {code}")
                inproc.append(seconds)
                counts.append(made)
                fetch_s, change_s = one_flow_change(url, root, args.namespaces, round_)
                fetches.append(fetch_s)
                changes.append(change_s)
        finally:
            server.terminate()
            server.wait(timeout=30)
    med = statistics.median
    print(f"no-change plan, `weir gitops plan` process: median {med(cli):.2f} s (target < 3 s)")
    print(f"no-change plan, in process:                median {med(inproc):.2f} s")
    print(
        f"HTTP requests of a no-change plan: {counts[0]} for {total:,} flows in "
        f"{args.namespaces} namespaces ({counts[0] / args.namespaces:.2f} per namespace, "
        f"{counts[0] / total:.4f} per flow)"
    )
    print(f"one-flow commit: fetch median {med(fetches) * 1000:.0f} ms")
    print(
        f"one-flow commit: plan + apply after the fetch, median {med(changes):.2f} s (target < 1 s)"
    )


if __name__ == "__main__":
    main()
