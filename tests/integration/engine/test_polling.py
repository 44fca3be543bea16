"""The polling-trigger loop on a real engine and store, with a clock each test sets: when a
trigger is evaluated, that an evaluation runs off the pass and once at a time, that two loops
claim each evaluation once, that a running execution holds the trigger, and what a failed
evaluation leaves.

The trigger is ``io.kestra.plugin.jdbc.postgresql.Trigger`` on the tests' PostgreSQL: a table
the test fills decides what an evaluation finds, and a row lock the test holds keeps an
evaluation waiting for as long as the test wants.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from controlplane.engine.model import Execution, State
from controlplane.engine.polling import PollingTriggers
from controlplane.spec.registry import Kind, registry
from tests.conftest import EngineFactory
from tests.integration.engine.test_scheduler import Clock, Runtime
from tests.waiting import ended, wait_until

NS = "sched.tests"
START = datetime(2024, 5, 15, 10, 0, 30, tzinfo=UTC)


@pytest.fixture
def runtime(tmp_path: Path, engine_factory: EngineFactory) -> Iterator[Runtime]:
    found = Runtime(engine_factory, tmp_path)
    yield found
    found.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def inbox(postgres_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE inbox (id int PRIMARY KEY, body text)")
        yield conn


@pytest.fixture
def jdbc(postgres_url: str) -> str:
    parts = urllib.parse.urlsplit(postgres_url)
    return (
        f"jdbc:postgresql://{parts.hostname}:{parts.port}{parts.path}?{parts.query}"
        f"&user={parts.username}"
    )


def flow(flow_id: str, jdbc: str, more: str = "", sql: str = "SELECT id, body FROM inbox") -> str:
    return f"""id: {flow_id}
namespace: {NS}
tasks:
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
    disabled: {"false" if "pause" in more else "true"}
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ trigger.rows }}}}"
triggers:
  - id: poll
    type: io.kestra.plugin.jdbc.postgresql.Trigger
    url: "{jdbc}"
    sql: {sql}
    interval: PT1M
{"".join(f"    {line}" + chr(10) for line in more.split(";") if line and line != "pause")}"""


def polling(runtime: Runtime, clock: Clock) -> PollingTriggers:
    return PollingTriggers(runtime.store, runtime.engine, clock=clock)


def settle(futures: list[Future[Execution | None]]) -> list[Execution]:
    """Wait for the evaluations; the executions they created."""
    wait_until(lambda: all(f.done() for f in futures), what="the evaluations")
    return [e for e in (f.result() for f in futures) if e is not None]


def state(runtime: Runtime, flow_id: str) -> dict[str, Any]:
    with runtime.store.unit(read_only=True) as repos:
        doc = repos.triggers.read_trigger_state(NS, flow_id, "poll")
    assert doc is not None
    return doc


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def test_every_polling_trigger_type_has_an_implementation() -> None:
    from controlplane.engine.runnable import runner_for
    from controlplane.spec.plugins.polling import PollingTrigger

    registry.load_all()
    polling_types = [
        info for info in registry.types(Kind.TRIGGER) if issubclass(info.model, PollingTrigger)
    ]
    assert len(polling_types) >= 4
    assert [info.name for info in polling_types if runner_for(info.model) is None] == []


def test_a_trigger_is_evaluated_at_once_then_every_interval(
    runtime: Runtime, clock: Clock, inbox: psycopg.Connection[Any], jdbc: str
) -> None:
    inbox.execute("INSERT INTO inbox VALUES (1, 'first')")
    runtime.save(flow("rows", jdbc))
    loop = polling(runtime, clock)

    (first,) = settle(loop.tick())
    done = ended(runtime.engine, first.id)
    assert done.state is State.SUCCESS
    assert done.trigger == {"rows": [{"id": 1, "body": "first"}], "size": 1}
    assert state(runtime, "rows")["next"] == "2024-05-15T10:01:30Z"

    clock.now = at(59)
    assert loop.tick() == []
    clock.now = at(60)
    (again,) = settle(loop.tick())  # the query still finds the row: it fires again
    assert again.id != first.id

    inbox.execute("DELETE FROM inbox")
    clock.now = at(120)
    assert settle(loop.tick()) == []
    assert len(runtime.executions("rows")) == 2
    assert state(runtime, "rows")["last"] == "2024-05-15T10:01:30Z"


def test_a_slow_evaluation_holds_neither_the_pass_nor_a_second_evaluation(
    runtime: Runtime, clock: Clock, inbox: psycopg.Connection[Any], jdbc: str, postgres_url: str
) -> None:
    inbox.execute("INSERT INTO inbox VALUES (1, 'locked')")
    runtime.save(flow("slow", jdbc, sql="SELECT id, body FROM inbox FOR UPDATE"))
    loop = polling(runtime, clock)
    with psycopg.connect(postgres_url) as holder:
        holder.execute("SELECT * FROM inbox FOR UPDATE")  # the evaluation waits for this lock
        waiting = loop.tick()
        assert len(waiting) == 1 and not waiting[0].done()
        clock.now = at(600)
        assert loop.tick() == []  # still evaluating: not started again
        holder.rollback()
    (created,) = settle(waiting)
    assert ended(runtime.engine, created.id).state is State.SUCCESS
    (next_one,) = settle(loop.tick())
    assert next_one.id != created.id


def test_two_loops_on_one_clock_evaluate_each_interval_once(
    runtime: Runtime, clock: Clock, inbox: psycopg.Connection[Any], jdbc: str
) -> None:
    inbox.execute("INSERT INTO inbox VALUES (1, 'shared')")
    runtime.save(flow("shared", jdbc, "allowConcurrent: true"))
    first, second = polling(runtime, clock), polling(runtime, clock)
    created: list[Execution] = []
    for minute in range(5):
        clock.now = at(60 * minute)
        created += settle(first.tick() + second.tick())
        created += settle(second.tick() + first.tick())
    assert len(created) == 5
    assert len(runtime.executions("shared")) == 5


def test_a_running_execution_holds_the_trigger_until_it_ends(
    runtime: Runtime, clock: Clock, inbox: psycopg.Connection[Any], jdbc: str
) -> None:
    inbox.execute("INSERT INTO inbox VALUES (1, 'held')")
    runtime.save(flow("held", jdbc, "pause"))
    loop = polling(runtime, clock)
    (paused,) = settle(loop.tick())
    ended(runtime.engine, paused.id, until=[State.PAUSED])
    clock.now = at(300)
    assert loop.tick() == []
    runtime.engine.kill(paused.id)
    ended(runtime.engine, paused.id)
    (after,) = settle(loop.tick())
    assert after.id != paused.id


def test_a_failed_evaluation_is_recorded_and_tried_again_at_the_next_interval(
    runtime: Runtime, clock: Clock, inbox: psycopg.Connection[Any], jdbc: str
) -> None:
    runtime.save(flow("broken", jdbc, sql="SELECT id FROM missing_table"))
    loop = polling(runtime, clock)
    assert settle(loop.tick()) == []
    error = state(runtime, "broken")["error"]
    assert "trigger 'poll' of flow sched.tests/broken" in error
    assert "missing_table" in error
    inbox.execute("CREATE TABLE missing_table (id int)")
    inbox.execute("INSERT INTO missing_table VALUES (7)")
    clock.now = at(60)
    (created,) = settle(loop.tick())
    assert created.trigger == {"rows": [{"id": 7}], "size": 1}
    assert state(runtime, "broken")["error"] is None


def test_conditions_that_do_not_hold_skip_the_evaluation(
    runtime: Runtime, clock: Clock, inbox: psycopg.Connection[Any], jdbc: str
) -> None:
    inbox.execute("INSERT INTO inbox VALUES (1, 'weekday')")
    weekend = "conditions:;  - type: io.kestra.plugin.core.condition.Weekend"
    runtime.save(flow("weekend", jdbc, weekend))
    loop = polling(runtime, clock)  # START is a Wednesday
    assert settle(loop.tick()) == []
    clock.at("2024-05-18T10:00:00+00:00")  # a Saturday
    assert len(settle(loop.tick())) == 1


def test_the_state_of_a_trigger_no_flow_declares_is_forgotten(
    runtime: Runtime, clock: Clock, inbox: psycopg.Connection[Any], jdbc: str
) -> None:
    runtime.save(flow("gone", jdbc))
    loop = polling(runtime, clock)
    settle(loop.tick())
    state(runtime, "gone")
    runtime.save(f"id: gone\nnamespace: {NS}\ntasks:\n  - id: log\n"
                 "    type: io.kestra.plugin.core.log.Log\n    message: hi\n")  # fmt: skip
    loop.tick()
    with runtime.store.unit(read_only=True) as repos:
        assert repos.triggers.read_trigger_state(NS, "gone", "poll") is None


def test_a_trigger_turned_off_is_not_evaluated_and_its_state_is_shown_like_a_schedule(
    runtime: Runtime, clock: Clock, inbox: psycopg.Connection[Any], jdbc: str
) -> None:
    from controlplane.api.routers.triggers import TriggerStateOut

    inbox.execute("INSERT INTO inbox VALUES (1, 'off')")
    runtime.save(flow("off", jdbc))
    loop = polling(runtime, clock)
    (created,) = settle(loop.tick())
    with runtime.store.unit(read_only=True) as repos:
        (record,) = [r for r in repos.triggers.list_trigger_states(NS) if r.flow_id == "off"]
    shown = TriggerStateOut.of_record(record)
    assert (shown.type, shown.lastExecutionId) == ("poll", created.id)
    assert shown.next == at(60)
    with runtime.store.unit() as repos:
        repos.triggers.update_trigger_state(
            NS, "off", "poll", {**record.document, "disabled": True}
        )
    ended(runtime.engine, created.id)
    clock.now = at(600)
    assert loop.tick() == []


def test_stop_after_disables_the_trigger_once_an_execution_ends_in_that_state(
    runtime: Runtime, clock: Clock, inbox: psycopg.Connection[Any], jdbc: str
) -> None:
    inbox.execute("INSERT INTO inbox VALUES (1, 'bad')")
    source = flow("stops", jdbc, "stopAfter: [FAILED]").replace(
        '    type: io.kestra.plugin.core.log.Log\n    message: "{{ trigger.rows }}"',
        "    type: io.kestra.plugin.core.execution.Fail\n    errorMessage: bad rows",
    )
    runtime.save(source)
    loop = polling(runtime, clock)
    (failed,) = settle(loop.tick())
    assert ended(runtime.engine, failed.id).state is State.FAILED
    clock.now = at(60)
    assert loop.tick() == []
    assert state(runtime, "stops")["stoppedBy"] == {"executionId": failed.id, "state": "FAILED"}
    clock.now = at(600)
    assert loop.tick() == []


def test_a_shorter_interval_saved_in_a_new_revision_takes_effect_at_once(
    runtime: Runtime, clock: Clock, inbox: psycopg.Connection[Any], jdbc: str
) -> None:
    inbox.execute("INSERT INTO inbox VALUES (1, 'hourly')")
    runtime.save(flow("hourly", jdbc).replace("interval: PT1M", "interval: PT1H"))
    loop = polling(runtime, clock)
    (first,) = settle(loop.tick())
    ended(runtime.engine, first.id)
    clock.now = at(60)
    assert loop.tick() == []
    runtime.save(flow("hourly", jdbc))
    assert len(settle(loop.tick())) == 1


def test_trigger_toggle_switches_off_a_polling_trigger_never_evaluated_yet(
    runtime: Runtime, clock: Clock, inbox: psycopg.Connection[Any], jdbc: str
) -> None:
    inbox.execute("INSERT INTO inbox VALUES (1, 'waiting')")
    runtime.save(flow("toggled", jdbc))
    switch = (
        f"id: switch\nnamespace: {NS}\ntasks:\n  - id: toggle\n"
        "    type: io.kestra.plugin.core.trigger.Toggle\n    flowId: toggled\n    trigger: poll\n"
    )
    runtime.save(switch)
    switched = runtime.engine.create_execution(NS, "switch", {})
    assert ended(runtime.engine, switched.id).state is State.SUCCESS
    loop = polling(runtime, clock)
    assert loop.tick() == []
    assert state(runtime, "toggled")["disabled"] is True
