"""Flow triggers on a running engine: an upstream execution that ends starts the flows that
listen for it, with its facts and outputs, once however many schedulers look at it.

The flow triggers run with a clock the tests set; each pass is a ``tick()``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from controlplane.engine.engine import Engine
from controlplane.engine.flowtriggers import FlowTriggers
from controlplane.engine.model import Execution, State
from controlplane.engine.ports import NamespaceRecord
from controlplane.store import SqlStore, StoreSettings
from controlplane.store.tables import EXECUTION_ENDS
from tests.conftest import EngineFactory
from tests.waiting import ended, over, wait_until

FLOW = "io.kestra.plugin.core.trigger.Flow"
C = "io.kestra.plugin.core.condition."
NS = "company.team"


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@dataclass
class World:
    store: SqlStore
    engine: Engine
    clock: Clock
    triggers: FlowTriggers

    def save(self, source: str) -> None:
        lines = dict(line.split(": ", 1) for line in source.splitlines()[:2])
        with self.store.unit() as repos:
            repos.flows.create_flow_revision(lines["namespace"], lines["id"], source, None)

    def allow(self, namespace: str, *callers: str) -> None:
        """Let flows of ``callers`` see ``namespace``'s executions (its allowedNamespaces)."""
        record = NamespaceRecord(namespace, None, {}, {}, None, 0, tuple(callers))
        with self.store.unit() as repos:
            repos.namespaces.update_namespace(record)

    def run(
        self,
        flow_id: str,
        namespace: str = NS,
        inputs: dict[str, Any] | None = None,
        labels: dict[str, str] | None = None,
    ) -> Execution:
        started = self.engine.create_execution(namespace, flow_id, inputs, labels)
        return self.ended(started.id)

    def ended(self, execution_id: str) -> Execution:
        """The execution once its end is committed (and so recorded for the flow triggers)."""
        return ended(self.engine, execution_id)

    def tick(self) -> list[Execution]:
        return [self.ended(made.id) for made in self.triggers.tick()]

    def executions(self, flow_id: str, namespace: str = NS) -> list[Execution]:
        with self.store.unit(read_only=True) as repos:
            return repos.executions.list_executions(namespace, flow_id, limit=1000)

    def ends_left(self) -> int:
        with self.store.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(EXECUTION_ENDS))
                       .scalar_one())  # fmt: skip


@contextmanager
def running(engines: EngineFactory, settings: StoreSettings, work: Path) -> Iterator[World]:
    clock = Clock(datetime(2024, 5, 1, 10, 0, tzinfo=UTC))
    with engines.running(settings, work) as (store, engine):
        yield World(store, engine, clock, FlowTriggers(store, engine, clock=clock))


@pytest.fixture
def world(tmp_path: Path, engine_factory: EngineFactory) -> Iterator[World]:
    home = StoreSettings(home=tmp_path / "home")
    with running(engine_factory, home, tmp_path / "work") as built:
        yield built


def upstream(flow_id: str, namespace: str = NS) -> str:
    """A flow that fails when asked and exposes ``date`` as a flow output."""
    return f"""id: {flow_id}
namespace: {namespace}
inputs:
  - id: fail
    type: BOOLEAN
    defaults: false
tasks:
  - id: only
    type: io.kestra.plugin.core.debug.Return
    format: "2024-05-0{{{{ inputs.fail ? 2 : 1 }}}}"
  - id: maybe_fail
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{{{ inputs.fail }}}}"
outputs:
  - id: date
    type: STRING
    value: "{{{{ outputs.only.value }}}}"
"""


def listener(flow_id: str, trigger: str, namespace: str = NS) -> str:
    """A flow whose one task echoes what it was started with."""
    body = "\n".join("    " + line for line in trigger.strip().splitlines())
    return f"""id: {flow_id}
namespace: {namespace}
tasks:
  - id: echo
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ trigger.executionId }}}} {{{{ trigger.flowId }}}} {{{{ trigger.state }}}}"
triggers:
  - id: on_end
    type: {FLOW}
{body}
"""


def ends(execution: Execution) -> int:
    """How many times the execution ended (a restarted one ends again)."""
    return sum(1 for t in execution.history if t.state.terminal)


def upstream_ids(executions: list[Execution]) -> list[str]:
    return sorted(e.trigger["executionId"] for e in executions if e.trigger)


# -- states and conditions ------------------------------------------------------------------------


def test_a_trigger_fires_on_the_states_it_listens_for_only(world: World) -> None:
    ops = "company.ops"
    world.allow(NS, ops)
    world.save(upstream("extract"))
    world.save(listener("on_success", f"""
conditions:
  - type: {C}ExecutionStatus
    in: [SUCCESS]
  - type: {C}ExecutionFlow
    namespace: {NS}
    flowId: extract
""", ops))  # fmt: skip
    world.save(listener("on_failure", "states: [FAILED]\nconditions:\n"
                        f"  - type: {C}ExecutionFlow\n    namespace: {NS}\n    flowId: extract",
                        ops))  # fmt: skip
    world.save(listener("on_any_end", f"conditions:\n  - type: {C}ExecutionNamespace\n"
                        f"    namespace: {NS}", ops))  # fmt: skip

    good = world.run("extract")
    assert sorted(e.flow_id for e in world.tick()) == ["on_any_end", "on_success"]
    bad = world.run("extract", inputs={"fail": True})
    assert bad.state is State.FAILED
    assert sorted(e.flow_id for e in world.tick()) == ["on_any_end", "on_failure"]
    assert world.tick() == []  # the listeners' own ends start nothing

    assert upstream_ids(world.executions("on_success", ops)) == [good.id]
    assert upstream_ids(world.executions("on_failure", ops)) == [bad.id]
    assert upstream_ids(world.executions("on_any_end", ops)) == sorted([good.id, bad.id])
    assert world.ends_left() == 0


def test_the_namespace_wide_listener_fires_for_other_listeners_once_they_end(world: World) -> None:
    world.save(upstream("extract"))
    world.save(listener("relay", f"conditions:\n  - type: {C}ExecutionFlow\n"
                        f"    namespace: {NS}\n    flowId: extract"))  # fmt: skip
    world.save(listener("audit", f"conditions:\n  - type: {C}ExecutionNamespace\n"
                        f"    namespace: company\n    prefix: true"))  # fmt: skip
    source = world.run("extract")
    first = world.tick()
    assert sorted(e.flow_id for e in first) == ["audit", "relay"]
    relay = next(e for e in first if e.flow_id == "relay")
    second = world.tick()
    # The relay's end starts the audit; the audit's own end starts nothing.
    assert [(e.flow_id, e.trigger["executionId"] if e.trigger else None) for e in second] == [
        ("audit", relay.id)
    ]
    assert world.tick() == []
    assert source.id in upstream_ids(world.executions("audit"))


def test_labels_and_namespaces_select_the_upstream_executions(world: World) -> None:
    world.save(upstream("extract", "company.team.sales"))
    world.save(upstream("extract", "other"))
    world.allow("company.team.sales", NS)
    world.allow("other", NS)
    world.save(listener("prod_sales", f"""
conditions:
  - type: {C}ExecutionNamespace
    namespace: company.team
    comparison: PREFIX
  - type: {C}ExecutionLabels
    labels:
      env: prod
"""))  # fmt: skip
    world.run("extract", "company.team.sales", labels={"env": "dev"})
    world.run("extract", "other", labels={"env": "prod"})
    assert world.tick() == []
    chosen = world.run("extract", "company.team.sales", labels={"env": "prod", "x": "y"})
    (started,) = world.tick()
    assert started.trigger is not None
    assert (started.flow_id, started.trigger["executionId"]) == ("prod_sales", chosen.id)
    assert started.trigger["labels"]["env"] == "prod"


def test_trigger_facts_and_upstream_outputs_reach_inputs_and_tasks(world: World) -> None:
    world.save(upstream("extract"))
    world.save(f"""id: transform
namespace: {NS}
inputs:
  - id: date
    type: DATE
  - id: from_task
    type: STRING
labels:
  team: data
tasks:
  - id: report
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ trigger.executionId }}}}/{{{{ trigger.outputs.date }}}}/{{{{ inputs.date }}}}"
triggers:
  - id: after_extract
    type: {FLOW}
    inputs:
      date: "{{{{ trigger.outputs.date }}}}"
      from_task: "{{{{ outputs.only.value }}}} from {{{{ trigger.flowId }}}}"
    labels:
      source: "{{{{ trigger.flowId }}}}"
    preconditions:
      id: extract_done
      flows:
        - namespace: {NS}
          flowId: extract
          states: [SUCCESS]
""")  # fmt: skip
    source = world.run("extract")
    (started,) = world.tick()
    assert started.state is State.SUCCESS
    assert started.inputs == {
        "date": "2024-05-01",
        "from_task": "2024-05-01 from extract",
    }
    assert started.labels["source"] == "extract"
    assert started.labels["team"] == "data"
    assert started.trigger == {
        "executionId": source.id,
        "namespace": NS,
        "flowId": "extract",
        "flowRevision": 1,
        "state": "SUCCESS",
        "labels": source.labels,
        "outputs": {"date": "2024-05-01"},
    }
    assert started.task_runs[0].outputs == {"value": f"{source.id}/2024-05-01/2024-05-01"}


def test_inputs_that_do_not_fit_start_nothing_and_are_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "controlplane.engine.flowtriggers")
    world.save(upstream("extract"))
    world.save(f"""id: strict
namespace: {NS}
inputs:
  - id: count
    type: INT
tasks:
  - id: only
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ inputs.count }}}}"
triggers:
  - id: on_end
    type: {FLOW}
    inputs:
      count: "{{{{ trigger.outputs.date }}}}"
    conditions:
      - type: {C}ExecutionFlow
        namespace: {NS}
        flowId: extract
""")  # fmt: skip
    source = world.run("extract")
    assert world.tick() == []
    assert world.executions("strict") == []
    assert world.ends_left() == 0
    (message,) = [r.getMessage() for r in caplog.records]
    assert message.startswith(
        f"flow {NS}/strict trigger on_end: no execution for the end of execution {source.id}: "
    )


def test_a_flow_does_not_trigger_itself(world: World) -> None:
    world.save(listener("selfish", f"conditions:\n  - type: {C}ExecutionNamespace\n"
                        f"    namespace: {NS}"))  # fmt: skip
    world.run("selfish")
    assert world.tick() == []
    assert len(world.executions("selfish")) == 1


# -- preconditions ----------------------------------------------------------------------------------


def two_upstreams(window: str, reset: str = "") -> str:
    return listener(
        "join",
        f"""
preconditions:
  id: both
{reset}  timeWindow:
{window}
  flows:
    - namespace: {NS}
      flowId: extract_a
      states: [SUCCESS]
    - namespace: {NS}
      flowId: extract_b
""",
    )


def test_preconditions_fire_once_both_upstreams_ended_within_the_window(world: World) -> None:
    world.save(upstream("extract_a"))
    world.save(upstream("extract_b"))
    world.save(two_upstreams("    type: DURATION_WINDOW\n    window: PT1H\n"))
    world.clock.moment = datetime(2024, 5, 1, 10, 5, tzinfo=UTC)
    world.run("extract_a")
    world.run("extract_a", inputs={"fail": True})  # FAILED is not one of the states wanted
    assert world.tick() == []
    world.clock.moment += timedelta(minutes=40)
    b = world.run("extract_b")
    (joined,) = world.tick()
    assert joined.trigger is not None and joined.trigger["executionId"] == b.id

    # Reset on success: B again is not enough; A in the same window completes the set again.
    world.run("extract_b")
    assert world.tick() == []
    world.clock.moment += timedelta(minutes=10)
    a = world.run("extract_a")
    (again,) = world.tick()
    assert again.trigger is not None and again.trigger["executionId"] == a.id

    # A at the end of one window and B in the next: the window passed, nothing fires.
    world.clock.moment = datetime(2024, 5, 1, 11, 59, tzinfo=UTC)
    world.run("extract_a")
    assert world.tick() == []
    world.clock.moment = datetime(2024, 5, 1, 12, 1, tzinfo=UTC)
    world.run("extract_b")
    assert world.tick() == []
    assert len(world.executions("join")) == 2


def test_a_sliding_window_counts_what_ended_less_than_the_window_ago(world: World) -> None:
    world.save(upstream("extract_a"))
    world.save(upstream("extract_b"))
    world.save(two_upstreams("    type: SLIDING_WINDOW\n    window: PT1H\n"))
    world.clock.moment = datetime(2024, 5, 1, 11, 59, tzinfo=UTC)
    world.run("extract_a")
    assert world.tick() == []
    world.clock.moment = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)  # another hour, same hour ago
    world.run("extract_b")
    assert len(world.tick()) == 1
    world.clock.moment = datetime(2024, 5, 1, 14, 0, tzinfo=UTC)
    world.run("extract_a")
    assert world.tick() == []
    world.clock.moment = datetime(2024, 5, 1, 15, 1, tzinfo=UTC)
    world.run("extract_b")
    assert world.tick() == []  # A was seen 61 minutes before B


def test_a_daily_deadline_forgets_what_ended_after_it(world: World) -> None:
    world.save(upstream("extract_a"))
    world.save(upstream("extract_b"))
    world.save(two_upstreams('    type: DAILY_TIME_DEADLINE\n    deadline: "09:00:00"\n'))
    world.clock.moment = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    world.run("extract_a")
    assert world.tick() == []
    world.clock.moment = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    world.run("extract_b")
    assert world.tick() == []
    world.clock.moment = datetime(2024, 5, 2, 7, 0, tzinfo=UTC)
    world.run("extract_b")
    assert world.tick() == []  # yesterday's A does not count today
    world.run("extract_a")
    assert len(world.tick()) == 1


def test_without_reset_each_new_match_in_the_window_fires_again(world: World) -> None:
    world.save(upstream("extract_a"))
    world.save(upstream("extract_b"))
    world.save(two_upstreams("    window: PT1H\n", reset="  resetOnSuccess: false\n"))
    world.run("extract_a")
    world.run("extract_b")
    assert len(world.tick()) == 1
    world.run("extract_b")
    assert len(world.tick()) == 1


def test_where_filters_and_the_legacy_multiple_condition(world: World) -> None:
    world.allow("company.team.ingest", NS)
    world.save(upstream("extract_a", "company.team.ingest"))
    world.save(upstream("extract_b", "company.team.ingest"))
    world.save(listener("filtered", """
preconditions:
  id: ingest
  where:
    - id: a_with_label
      filters:
        - field: NAMESPACE
          type: ENDS_WITH
          value: .ingest
        - field: FLOW_ID
          type: EQUAL_TO
          value: extract_a
        - field: EXPRESSION
          type: IS_TRUE
          value: "{{ labels.tier == 'gold' }}"
    - id: b_or_c
      operand: OR
      filters:
        - field: FLOW_ID
          type: IN
          values: [extract_b, extract_c]
        - field: STATE
          type: REGEX
          value: "WARN.*"
"""))  # fmt: skip
    world.save(listener("legacy", f"""
conditions:
  - type: {C}ExecutionStatus
    in: [SUCCESS]
  - id: multiple
    type: {C}MultipleCondition
    window: P1D
    windowAdvance: P0D
    conditions:
      flow-a:
        type: {C}ExecutionFlow
        namespace: company.team.ingest
        flowId: extract_a
      flow-b:
        type: {C}ExecutionFlow
        namespace: company.team.ingest
        flowId: extract_b
"""))  # fmt: skip
    world.run("extract_a", "company.team.ingest", labels={"tier": "silver"})
    world.run("extract_b", "company.team.ingest")
    assert [e.flow_id for e in world.tick()] == ["legacy"]
    gold = world.run("extract_a", "company.team.ingest", labels={"tier": "gold"})
    (started,) = world.tick()
    assert started.flow_id == "filtered"
    assert started.trigger is not None and started.trigger["executionId"] == gold.id


def test_an_end_looked_at_again_starts_nothing_more(world: World) -> None:
    """As after a scheduler died between firing and deleting what it looked at."""
    world.save(upstream("extract"))
    world.save(upstream("extract_a"))
    world.save(upstream("extract_b"))
    world.save(listener("each", f"conditions:\n  - type: {C}ExecutionFlow\n"
                        f"    namespace: {NS}\n    flowId: extract"))  # fmt: skip
    world.save(two_upstreams("    window: PT1H\n"))
    looked_at = [world.run("extract"), world.run("extract_a"), world.run("extract_b")]
    assert sorted(e.flow_id for e in world.tick()) == ["each", "join"]
    assert world.tick() == []
    with world.store.unit() as repos:
        for execution in looked_at:
            repos.triggers.record_end(execution.id)
    assert world.tick() == []
    world.run("extract_b")
    assert world.tick() == []  # the first B was counted once, and A since reset
    assert (len(world.executions("each")), len(world.executions("join"))) == (1, 1)


def test_a_restarted_upstream_triggers_again_when_it_ends_again(world: World) -> None:
    world.save(upstream("extract"))
    world.save(
        listener(
            "on_failure",
            "states: [FAILED]\nconditions:\n"
            f"  - type: {C}ExecutionFlow\n    namespace: {NS}\n    flowId: extract",
        )
    )
    failed = world.run("extract", inputs={"fail": True})
    assert len(world.tick()) == 1
    world.engine.restart(failed.id)
    ended(world.engine, failed.id, done=lambda e: over(e) and ends(e) == 2)
    (second,) = world.tick()
    assert second.trigger is not None and second.trigger["executionId"] == failed.id
    assert len(world.executions("on_failure")) == 2


# -- stopAfter ------------------------------------------------------------------------------------


def test_stop_after_disables_the_trigger_once_its_execution_ends_so(world: World) -> None:
    world.save(upstream("extract"))
    world.save(f"""id: fragile
namespace: {NS}
inputs:
  - id: fail
    type: BOOLEAN
tasks:
  - id: maybe_fail
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{{{ inputs.fail }}}}"
triggers:
  - id: on_extract
    type: {FLOW}
    stopAfter: [FAILED]
    inputs:
      fail: "{{{{ trigger.state == 'FAILED' }}}}"
    conditions:
      - type: {C}ExecutionFlow
        namespace: {NS}
        flowId: extract
""")  # fmt: skip
    world.run("extract")
    (ok,) = world.tick()
    assert ok.state is State.SUCCESS
    world.run("extract", inputs={"fail": True})
    (failing,) = world.tick()
    assert failing.state is State.FAILED
    assert world.tick() == []  # its end disables the trigger
    world.run("extract")
    assert world.tick() == []
    assert len(world.executions("fragile")) == 2
    with world.store.unit(read_only=True) as repos:
        state = repos.triggers.read_trigger_state(NS, "fragile", "on_extract")
    assert state is not None
    assert state["disabled"] is True
    assert state["stoppedBy"] == {"executionId": failing.id, "state": "FAILED"}


def test_the_thread_survives_a_failing_pass_and_fires_on_the_next(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, "controlplane.engine.flowtriggers")
    world.save(upstream("extract"))
    world.save(listener("after", f"preconditions:\n  id: up\n  flows:\n"
                        f"    - namespace: {NS}\n      flowId: extract"))  # fmt: skip
    calls: list[datetime] = []

    def clock() -> datetime:
        calls.append(world.clock())
        if len(calls) == 1:
            raise RuntimeError("the clock is away")
        return world.clock()

    triggers = FlowTriggers(world.store, world.engine, clock=clock, interval=0.01)
    source = world.run("extract")
    triggers.start()
    try:
        wait_until(lambda: world.executions("after"), what="the flow triggers firing")
    finally:
        triggers.stop()
    assert upstream_ids(world.executions("after")) == [source.id]
    assert [r.getMessage() for r in caplog.records] == ["flow triggers: a pass failed; retrying"]


# -- several schedulers -----------------------------------------------------------------------------


def run_concurrently(world: World, upstream_count: int) -> None:
    """Two flow-trigger instances tick side by side until every end was looked at."""
    world.save(upstream("extract"))
    world.save(upstream("extract_a"))
    world.save(upstream("extract_b"))
    world.save(listener("each", f"conditions:\n  - type: {C}ExecutionFlow\n"
                        f"    namespace: {NS}\n    flowId: extract"))  # fmt: skip
    world.save(two_upstreams("    window: PT1H\n"))
    sources = [world.run("extract") for _ in range(upstream_count)]
    world.run("extract_a")
    world.run("extract_b")
    others = [FlowTriggers(world.store, world.engine, clock=world.clock, batch=3)
              for _ in range(2)]  # fmt: skip
    done = threading.Event()
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def spin(triggers: FlowTriggers) -> None:
        start.wait()
        while not done.is_set():
            try:
                triggers.tick()
            except BaseException as exc:  # reported by the test below
                failures.append(exc)
                return

    threads = [threading.Thread(target=spin, args=(t,)) for t in others]
    for thread in threads:
        thread.start()
    try:
        wait_until(
            lambda: (world.ends_left(), len(world.executions("each")), len(failures)),
            lambda seen: seen[2] > 0 or (seen[0] == 0 and seen[1] >= upstream_count),
            "the flow triggers looking at every end",
        )
    finally:
        done.set()
    for thread in threads:
        thread.join()
    assert failures == []
    assert upstream_ids(world.executions("each")) == sorted(s.id for s in sources)
    assert len(world.executions("join")) == 1


def test_two_schedulers_fire_once_per_upstream_execution(world: World) -> None:
    run_concurrently(world, 12)


def test_two_schedulers_fire_once_per_upstream_execution_on_postgresql(
    postgres_url: str, tmp_path: Path, engine_factory: EngineFactory
) -> None:
    settings = StoreSettings(home=tmp_path / "home", database_url=postgres_url,
                             secret_key=os.urandom(32))  # fmt: skip
    with running(engine_factory, settings, tmp_path / "work") as world:
        run_concurrently(world, 12)
