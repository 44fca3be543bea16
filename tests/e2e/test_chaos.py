"""Kill Weir's processes with SIGKILL while they work, take the database away for a while, and
check that no execution is lost and no task ran to SUCCESS twice.

One executor, two workers and two schedulers (``weir server executor|worker|scheduler``) run on a
PostgreSQL of the test's own. 200 executions of a mixed flow (a log, a parallel fan-out whose shell
task calls the test's HTTP witness once per run, a subflow, an output) are started, each with its child,
while a schedule fires every second and a Flow trigger starts a flow after each successful one.
While they run, the executor and each worker are killed several times and started again, one
scheduler once, and PostgreSQL is stopped for longer than a lease. Each kill waits until its
victim runs and the work advanced since, so it hits a process at work however slow the machine.
Then every execution must end; none may stay RUNNING; each task run of these retry-less flows has
one attempt, and the witness heard each shell task at most once (once when it succeeded);
every successful execution has exactly the flow's task runs; no slot of the schedule fired twice;
the Flow trigger fired exactly once for each successful execution.

No wait has a total deadline: on a loaded machine everything is slower, so a wait fails only when
the executions stopped advancing for ``STALL`` seconds (``tests/waiting.py``).
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

import controlplane.tasks  # noqa: F401  (registers the task implementations)
from controlplane.engine.model import Execution, State, now
from controlplane.store import StoreSettings, open_store, tables
from controlplane.store.store import SqlStore
from tests.conftest import EngineFactory
from tests.postgres import PostgresServer, pg_ctl, postgres_bindir, start_server, stop_server
from tests.processes import Part
from tests.waiting import Stalled, wait_while_advancing

EXECUTIONS = 200
LEASE = "5"
"""Short, so that takeovers happen within the test; an executor or worker that misses renewals
because the machine is loaded renews late and carries on (see docs/scale-out.md)."""
OUTAGE = 8.0
"""Seconds without PostgreSQL: longer than a lease, so every lease lapses during it."""
STALL = 120.0
"""Seconds without any execution or task run of the test changing state before a wait fails."""
WATCHED = ("mixed", "child", "after")

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
          - curl -fsS -o /dev/null "{{ envs.chaos_marks }}/{{ execution.id }}"
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


class Witness(ThreadingHTTPServer):
    """Counts the requests of the shell tasks, one per run, by path (the execution id): what
    really ran, seen from outside the task's sandbox."""

    def __init__(self) -> None:
        self.heard: Counter[str] = Counter()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Heard)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Heard(BaseHTTPRequestHandler):
    server: Witness

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.heard[self.path.strip("/")] += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def witness() -> Iterator[Witness]:
    server = Witness()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def database() -> Iterator[PostgresServer]:
    server = start_server(postgres_bindir())
    try:
        yield server
    finally:
        stop_server(server)


Census = tuple[tuple[tuple[str, str, int], ...], tuple[tuple[str, str, int], ...]]


def _census(store: SqlStore) -> Census:
    """Executions and task runs of the watched flows by flow and state: what advancing means."""
    runs, executions = tables.TASK_RUNS, tables.EXECUTIONS
    flows = executions.c.flow_id
    with store.engine.connect() as db:
        by_execution = db.execute(
            select(flows, executions.c.state, func.count())
            .where(flows.in_(WATCHED))
            .group_by(flows, executions.c.state)
        ).all()
        by_run = db.execute(
            select(flows, runs.c.state, func.count())
            .join(executions, executions.c.id == runs.c.execution_id)
            .where(flows.in_(WATCHED))
            .group_by(flows, runs.c.state)
        ).all()
    return tuple(sorted((f, s, n) for f, s, n in by_execution)), tuple(
        sorted((f, s, n) for f, s, n in by_run)
    )


def _queues(store: SqlStore) -> str:
    """Who holds what and what waits where: said when the work stalls."""
    leases, work, commands = tables.EXECUTION_LEASES, tables.WORK_QUEUE, tables.COMMANDS
    moment = now()
    with store.engine.connect() as db:
        held = Counter(
            (owner, until is not None and until < moment)
            for owner, until in db.execute(select(leases.c.owner, leases.c.lease_until))
        )
        queued = db.execute(select(work.c.state, func.count()).group_by(work.c.state)).all()
        waiting = db.execute(select(commands.c.kind, func.count()).group_by(commands.c.kind)).all()
    return (
        f"leases by (owner, lapsed) {dict(held)}; "
        f"work queue {dict(map(tuple, queued))}; commands {dict(map(tuple, waiting))}"
    )


def _count(census: Census, flow_id: str, terminal: bool = True) -> int:
    ended = {state.value for state in State if state.terminal}
    return sum(n for f, s, n in census[0] if f == flow_id and (s in ended) == terminal)


def _unfinished(store: SqlStore) -> list[str]:
    with store.unit(read_only=True) as repos:
        return repos.executions.list_unfinished_execution_ids()


def _flow(store: SqlStore, flow_id: str) -> list[Execution]:
    with store.unit(read_only=True) as repos:
        found, _ = repos.executions.search_executions("chaos", flow_id, limit=10_000)
    return found


def _read(store: SqlStore, ids: list[str]) -> list[Execution]:
    with store.unit(read_only=True) as repos:
        found = [repos.executions.read_execution(i) for i in ids]
    return [e for e in found if e is not None]


def _logs(parts: dict[str, Part]) -> str:
    return "\n".join(f"--- {name}\n{part.output()[-3000:]}" for name, part in parts.items())


def _at_work(store: SqlStore, part: Part) -> None:
    """Wait until ``part`` (started ``part.kills + 1`` times) runs and the work advanced since."""
    wait_while_advancing(
        lambda: (part.output().count(" running;"), _census(store)),
        lambda seen: seen[0] > part.kills,
        f"the {part.role} to start",
        STALL,
    )
    before = _census(store)
    wait_while_advancing(
        lambda: _census(store), lambda now: now != before, f"work under the {part.role}", STALL
    )


def _kill_at_work(store: SqlStore, part: Part) -> int:
    """SIGKILL ``part`` at work and start it again; returns the parents ended by then."""
    _at_work(store, part)
    ended = _count(_census(store), "mixed")
    part.kill()
    part.start()
    return ended


def test_killed_processes_and_a_database_outage_lose_no_work(
    database: PostgresServer, witness: Witness, tmp_path: Path, engine_factory: EngineFactory
) -> None:
    env = {
        **os.environ,
        "WEIR_HOME": str(tmp_path / "home"),
        "WEIR_DATABASE_URL": database.url("postgres"),
        "WEIR_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
        "ENV_CHAOS_MARKS": witness.url,
    }
    settings = StoreSettings.from_env(env)
    store = open_store(settings)
    with store.unit() as repos:
        repos.flows.create_flow_revision("chaos", "child", CHILD.lstrip(), None)
        repos.flows.create_flow_revision("chaos", "mixed", MIXED.lstrip(), None)
        repos.flows.create_flow_revision("chaos", "tick", TICK.lstrip(), None)
        repos.flows.create_flow_revision("chaos", "after", AFTER.lstrip(), None)
    api = engine_factory.remote(store, settings.home / "work")
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
        progress = [  # parents ended at each kill: the kills hit work
            _kill_at_work(store, parts[victim])
            for victim in [
                "worker-a", "executor", "worker-b", "scheduler-a", "executor", "worker-a",
                "executor",
            ]
        ]  # fmt: skip
        _at_work(store, parts["executor"])  # it holds executions when the database goes
        store.close()
        pg_ctl(database, "stop")
        time.sleep(OUTAGE)  # the outage itself, not a wait for a result
        pg_ctl(database, "start")
        store = open_store(settings)
        assert all(part.alive for part in parts.values()), "a process died with the database"
        wait_while_advancing(
            lambda: _census(store),
            lambda now: _count(now, "mixed") == EXECUTIONS,
            "every parent to end",
            STALL,
        )
        succeeded = sum(1 for e in _flow(store, "mixed") if e.state is State.SUCCESS)
        wait_while_advancing(  # the Flow trigger catches up
            lambda: _census(store),
            lambda now: _count(now, "after") + _count(now, "after", False) >= succeeded,
            "a Flow-triggered execution for each successful parent",
            STALL,
        )
        for name in ("scheduler-a", "scheduler-b"):
            assert parts[name].stop() == 0, parts[name].output()
        wait_while_advancing(
            lambda: (_unfinished(store), _census(store)),
            lambda seen: not seen[0],
            "every execution to end",
            STALL,
        )
        parents = _read(store, started)
        ticks, afters = _flow(store, "tick"), _flow(store, "after")
        with store.unit(read_only=True) as repos:
            unfinished = repos.executions.list_unfinished_execution_ids()
            children = [
                repos.executions.read_execution(run.outputs["executionId"])
                for parent in parents
                for run in parent.task_runs
                if run.task_id == "call" and "executionId" in run.outputs
            ]
    except Stalled as stalled:
        raise Stalled(f"{stalled}\n{_queues(store)}\n{_logs(parts)}") from None
    finally:
        codes = {name: part.stop() for name, part in parts.items()}
        store.close()
    logs = _logs(parts)
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
    lines = witness.heard
    assert max(lines.values()) == 1, [i for i, n in lines.items() if n > 1]  # never twice
    marked = {
        e.id for e in parents for run in e.task_runs
        if run.task_id == "mark" and run.state is State.SUCCESS
    }  # fmt: skip
    assert marked <= set(lines), "a task reported SUCCESS without having run"
    seen = Counter((after.trigger or {}).get("executionId") for after in afters)
    assert set(seen) == {e.id for e in parents if e.state is State.SUCCESS}  # each success
    assert max(seen.values()) == 1  # once, across two schedulers and their kills
    slots = Counter((tick.trigger or {}).get("date") for tick in ticks)
    assert len(slots) >= 5 and max(slots.values()) == 1, slots  # two schedulers, one firing
    states = Counter(e.state.value for e in parents)
    lost = Counter(
        run.task_id for e in executions for run in e.task_runs
        if any("stopped renewing its lease" in (a.error or "") for a in run.attempts)
    )  # fmt: skip
    print(  # the figures for the record (pytest -s)
        f"\nchaos: {EXECUTIONS} executions + {len(children)} subflows; parents by state "
        f"{dict(states)}; kills {[p.kills for p in parts.values()]}; ended at each kill "
        f"{progress}; marks {len(lines)}; schedule slots fired {len(slots)}, each once; "
        f"flow-triggered executions {len(afters)}, one per successful parent; "
        f"attempts failed for a lapsed worker lease {dict(lost)}"
    )
    assert progress[-1] < EXECUTIONS, "the kills came after the work: they tested nothing"
    failed = Counter(
        (run.task_id, (run.attempts[-1].error or "")[:100] if run.attempts else "")
        for e in executions for run in e.task_runs if run.state is State.FAILED
    )  # fmt: skip
    assert states[State.SUCCESS.value] >= EXECUTIONS // 2, (states, failed)
