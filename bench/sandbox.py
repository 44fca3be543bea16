"""What the sandbox costs a script task: the same Shell Commands task run with and without it.

Runs ``--tasks`` attempts of a one-line shell task (``echo ok``) through ``run_attempt`` on a
SQLite store, alternating an unconfined attempt and a sandboxed one so both see the same machine,
and a one-line Python Script task the same way. Prints the median and p90 wall time per task of
each, the sandbox's cost per task (median difference) and its ratio to Weir's goal (<= 30 ms).
A benchmark, never a test.

    python bench/sandbox.py [--tasks 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

import controlplane.tasks  # noqa: F401  (registers the implementations)
from controlplane.engine.attempt_context import WorkerSettings
from controlplane.engine.attempt_run import run_attempt
from controlplane.engine.model import State, new_id
from controlplane.engine.ports import Store
from controlplane.engine.sandbox import SandboxSettings, check
from controlplane.engine.work import WorkItem
from controlplane.spec.tasks import Task, TaskSpec
from controlplane.store import StoreSettings, open_store

GOAL_MS = 30.0
TASKS: dict[str, dict[str, Any]] = {
    "shell": {
        "id": "t",
        "type": "io.kestra.plugin.scripts.shell.Commands",
        "commands": ["echo ok"],
    },
    "python": {"id": "t", "type": "io.kestra.plugin.scripts.python.Script", "script": "print(1)"},
}


def item(spec: TaskSpec) -> WorkItem:
    ids = {"execution": new_id(), "taskrun": new_id()}
    context = {
        "flow": {"id": "bench", "namespace": "bench", "revision": 1},
        "execution": {"id": ids["execution"]},
        "task": {"id": spec.id, "type": spec.type},
        "taskrun": {"id": ids["taskrun"], "attemptsCount": 0},
        "inputs": {},
        "outputs": {},
        "vars": {},
        "labels": {},
    }
    return WorkItem(
        execution_id=ids["execution"],
        namespace="bench",
        flow_id="bench",
        flow_revision=1,
        task_run_id=ids["taskrun"],
        task=spec,
        attempt=1,
        variables=context,
    )


def timed(spec: TaskSpec, store: Store, settings: WorkerSettings) -> float:
    started = time.perf_counter()
    result = run_attempt(item(spec), store, settings)
    elapsed = (time.perf_counter() - started) * 1000
    if result.state is not State.SUCCESS:
        raise SystemExit(f"the benchmark task failed: {result.error}")
    return elapsed


def p90(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.9) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=60)
    args = parser.parse_args()
    problem = check(SandboxSettings())
    if problem is not None:
        raise SystemExit(problem)
    with tempfile.TemporaryDirectory(prefix="weir-bench-sandbox-") as folder:
        root = Path(folder)
        store = open_store(StoreSettings(home=root / "home"))
        confined = WorkerSettings(
            temp_root=root / "work", sandbox=SandboxSettings(hidden=(root / "home",))
        )
        unconfined = dataclasses.replace(
            confined, sandbox=dataclasses.replace(confined.sandbox, enabled=False)
        )
        try:
            for name, task in TASKS.items():
                spec: TaskSpec = TypeAdapter(Task).validate_python(task)
                report(name, spec, store, confined, unconfined, args.tasks)
        finally:
            store.close()


def report(
    name: str,
    spec: TaskSpec,
    store: Store,
    confined: WorkerSettings,
    unconfined: WorkerSettings,
    count: int,
) -> None:
    for settings in (unconfined, confined):  # warm caches: the probe, the compiled templates
        timed(spec, store, settings)
    before: list[float] = []
    after: list[float] = []
    for _ in range(count):
        before.append(timed(spec, store, unconfined))
        after.append(timed(spec, store, confined))
    cost = statistics.median(after) - statistics.median(before)
    print(
        f"{name:<7} per task: without sandbox median {statistics.median(before):6.1f} ms "
        f"(p90 {p90(before):6.1f}), sandboxed median {statistics.median(after):6.1f} ms "
        f"(p90 {p90(after):6.1f}); sandbox cost {cost:5.1f} ms per task, "
        f"{cost / GOAL_MS:.2f}x of the {GOAL_MS:.0f} ms goal"
    )


if __name__ == "__main__":
    main()
