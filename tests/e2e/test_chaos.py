"""Kill Weir's processes with SIGKILL while they work, take the database away for a while, and
check that no execution is lost and no task ran to SUCCESS twice.

One executor, two workers and two schedulers (``weir server executor|worker|scheduler``) run on a
PostgreSQL of the test's own. 200 executions of a mixed flow (a log, a parallel fan-out whose shell
task appends a line per run to a file, a subflow, an output) are started, each with its child,
while a schedule fires every second and a Flow trigger starts a flow after each successful one. While they run, the executor and each worker are killed
several times and started again, one scheduler once, and PostgreSQL is stopped for a few seconds.
Then every execution must end; none may stay RUNNING; each task run of these retry-less flows has
one attempt, and each shell task's line is in the file at most once (once when it succeeded);
every successful execution has exactly the flow's task runs; no slot of the schedule fired twice;
the Flow trigger fired exactly once for each successful execution.
"""

from __future__ import annotations

import base64
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import controlplane.tasks  # noqa: F401  (registers the task implementations)
from controlplane.engine.engine import Engine, EngineSettings
from controlplane.engine.model import Execution, State
from controlplane.store import StoreSettings, open_store
from controlplane.store.store import SqlStore
from tests.postgres import PostgresServer, pg_ctl, postgres_bindir, start_server, stop_server
from tests.processes import Part

EXECUTIONS = 200
LEASE = "2"

MIXED = """
id: mixed
namespace: chaos
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "starting {{ execution.id }}"
  - id: fan
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: mark
        type: io.kestra.plugin.scripts.shell.Commands
        taskRunner:
          type: io.kestra.plugin.core.runner.Process
        commands:
          - sleep 0.5
          - echo "{{ execution.id }}" >> "{{ envs.chaos_marks }}"
      - id: echo
        type: io.kestra.plugin.core.debug.Return
        format: "{{ execution.id }}"
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: chaos
    flowId: child
    inputs:
      from: "{{ execution.id }}"
  - id: last
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.call.outputs.echoed }}"
"""
CHILD = """
id: child
namespace: chaos
inputs:
  - id: from
    type: STRING
tasks:
  - id: back
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.from }}"
outputs:
  - id: echoed
    type: STRING
    value: "{{ outputs.back.value }}"
"""
TICK = """
id: tick
namespace: chaos
triggers:
  - id: every_second
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
    allowConcurrent: true
tasks:
  - id: at
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.date }}"
"""
AFTER = """
id: after
namespace: chaos
triggers:
  - id: on_mixed
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: chaos
        flowId: mixed
      - type: io.kestra.plugin.core.condition.ExecutionStatus
        in: [SUCCESS]
tasks:
  - id: saw
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.executionId }}"
"""
TASKS = {"mixed": ["call", "echo", "fan", "hello", "last", "mark"], "child": ["back"]}


@pytest.fixture
def database() -> Iterator[PostgresServer]:
    server = start_server(postgres_bindir())
    try:
        yield server
    finally:
        stop_server(server)


def _ended(store: SqlStore, ids: list[str]) -> list[Execution]:
    with store.unit(read_only=True) as repos:
        found = [repos.executions.read_execution(i) for i in ids]
    return [e for e in found if e is not None and e.state.terminal]


def _flow(store: SqlStore, flow_id: str) -> list[Execution]:
    with store.unit(read_only=True) as repos:
        found, _ = repos.executions.search_executions(
            "chaos", flow_id, None, None, limit=10_000, offset=0
        )
    return found


def _unfinished(store: SqlStore) -> list[str]:
    with store.unit(read_only=True) as repos:
        return repos.executions.list_unfinished_execution_ids()


def test_killed_processes_and_a_database_outage_lose_no_work(
    database: PostgresServer, tmp_path: Path
) -> None:
    marks = tmp_path / "marks"
    env = {
        **os.environ,
        "WEIR_HOME": str(tmp_path / "home"),
        "WEIR_DATABASE_URL": database.url("postgres"),
        "WEIR_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
        "ENV_CHAOS_MARKS": str(marks),
    }
    settings = StoreSettings.from_env(env)
    store = open_store(settings)
    with store.unit() as repos:
        repos.flows.create_flow_revision("chaos", "child", CHILD.lstrip(), None)
        repos.flows.create_flow_revision("chaos", "mixed", MIXED.lstrip(), None)
        repos.flows.create_flow_revision("chaos", "tick", TICK.lstrip(), None)
        repos.flows.create_flow_revision("chaos", "after", AFTER.lstrip(), None)
    api = Engine(store, None, EngineSettings(work_root=settings.home / "work", remote=True))
    parts = {
        "executor": Part("executor", env, tmp_path, "--lease", LEASE, "--grace", "1"),
        "worker-a": Part("worker", env, tmp_path, "--lease", LEASE, "--concurrency", "4"),
        "worker-b": Part("worker", env, tmp_path, "--lease", LEASE, "--concurrency", "4"),
        "scheduler-a": Part("scheduler", env, tmp_path),
        "scheduler-b": Part("scheduler", env, tmp_path),
    }
    for part in parts.values():
        part.start()
    try:
        started = [api.create_execution("chaos", "mixed").id for _ in range(EXECUTIONS)]
        progress = []  # executions ended when each process was killed: the kills hit work
        for victim in [
            "worker-a", "executor", "worker-b", "scheduler-a", "executor", "worker-a", "executor",
        ]:  # fmt: skip
            time.sleep(1.5)
            progress.append(len(_ended(store, started)))
            parts[victim].kill()
            parts[victim].start()
        time.sleep(1.0)
        store.close()
        pg_ctl(database, "stop")
        time.sleep(3.0)
        pg_ctl(database, "start")
        store = open_store(settings)
        assert all(part.alive for part in parts.values()), "a process died with the database"
        deadline = time.monotonic() + 240
        while len(_ended(store, started)) < EXECUTIONS and time.monotonic() < deadline:
            time.sleep(0.5)
        parents = _ended(store, started)
        succeeded = {e.id for e in parents if e.state is State.SUCCESS}
        while len(_flow(store, "after")) < len(succeeded) and time.monotonic() < deadline:
            time.sleep(0.5)  # the Flow trigger catches up
        for name in ("scheduler-a", "scheduler-b"):
            assert parts[name].stop() == 0, parts[name].output()
        while _unfinished(store) and time.monotonic() < deadline:
            time.sleep(0.5)
        ticks, afters = _flow(store, "tick"), _flow(store, "after")
        with store.unit(read_only=True) as repos:
            unfinished = repos.executions.list_unfinished_execution_ids()
            children = [
                repos.executions.read_execution(run.outputs["executionId"])
                for parent in parents
                for run in parent.task_runs
                if run.task_id == "call" and "executionId" in run.outputs
            ]
    finally:
        codes = {name: part.stop() for name, part in parts.items()}
        store.close()
    logs = "\n".join(f"--- {name}\n{part.output()[-3000:]}" for name, part in parts.items())
    assert len(parents) == EXECUTIONS, logs
    assert unfinished == [], logs  # no execution left RUNNING (or CREATED) anywhere
    assert codes == {name: 0 for name in parts}, logs  # the restarted ones stop cleanly
    executions = parents + [child for child in children if child is not None]
    for execution in executions:
        runs = execution.task_runs
        assert all(run.state.terminal for run in runs), execution.id
        assert all(len(run.attempts) <= 1 for run in runs), execution.id  # none ran twice
        assert len({run.task_id for run in runs}) == len(runs), execution.id  # no duplicate run
        if execution.state is State.SUCCESS:
            assert sorted(run.task_id for run in runs) == TASKS[execution.flow_id], execution.id
    lines = Counter(marks.read_text().split())
    assert max(lines.values()) == 1, [i for i, n in lines.items() if n > 1]  # never twice
    succeeded = {
        e.id for e in parents for run in e.task_runs
        if run.task_id == "mark" and run.state is State.SUCCESS
    }  # fmt: skip
    assert succeeded <= set(lines), "a task reported SUCCESS without having run"
    seen = Counter((after.trigger or {}).get("executionId") for after in afters)
    assert set(seen) == {e.id for e in parents if e.state is State.SUCCESS}  # each success
    assert max(seen.values()) == 1  # once, across two schedulers and their kills
    slots = Counter((tick.trigger or {}).get("date") for tick in ticks)
    assert len(slots) >= 5 and max(slots.values()) == 1, slots  # two schedulers, one firing
    states = Counter(e.state.value for e in parents)
    print(  # the figures for the record (pytest -s)
        f"\nchaos: {EXECUTIONS} executions + {len(children)} subflows; parents by state "
        f"{dict(states)}; kills {[p.kills for p in parts.values()]}; ended at each kill "
        f"{progress}; marks {len(lines)}; schedule slots fired {len(slots)}, each once; "
        f"flow-triggered executions {len(afters)}, one per successful parent"
    )
    assert progress[-1] < EXECUTIONS, "the kills came after the work: they tested nothing"
    assert states[State.SUCCESS.value] >= EXECUTIONS // 2, states
