"""Schedule triggers on a real engine and store: slots, catch-up, backfills, the rules that hold
or stop a trigger, and two schedulers firing each slot once (SQLite and PostgreSQL).

The scheduler's clock is set by each test and ``tick()`` runs one pass; the engine runs the
executions it creates for real.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from controlplane.engine.cron import Cron
from controlplane.engine.model import Execution, State
from controlplane.engine.schedule_state import ScheduleState, new_backfill
from controlplane.engine.scheduler import SchedulerSettings, TriggerScheduler
from controlplane.store import StoreSettings
from tests.conftest import EngineFactory
from tests.waiting import ended, wait_until

NS = "sched.tests"
START = datetime(2024, 5, 15, 10, 0, 30, tzinfo=UTC)  # a Wednesday


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.now = moment

    def __call__(self) -> datetime:
        return self.now

    def at(self, text: str) -> None:
        self.now = datetime.fromisoformat(text)


class Runtime:
    def __init__(
        self,
        engines: EngineFactory,
        home: Path,
        settings: StoreSettings | None = None,
        **engine: Any,
    ) -> None:
        self._running = ExitStack()
        running = engines.running(settings or StoreSettings(home=home), home / "work", **engine)
        self.store, self.engine = self._running.enter_context(running)

    def scheduler(self, clock: Clock, **settings: Any) -> TriggerScheduler:
        return TriggerScheduler(self.store, self.engine, SchedulerSettings(**settings), clock)

    def save(self, source: str) -> None:
        flow_id = next(
            line.split(":", 1)[1].strip() for line in source.splitlines() if line.startswith("id:")
        )
        with self.store.unit() as repos:
            repos.flows.create_flow_revision(NS, flow_id, source, None)

    def executions(self, flow_id: str) -> list[Execution]:
        with self.store.unit(read_only=True) as repos:
            found = repos.executions.list_executions(NS, flow_id, limit=10_000)
        return sorted(found, key=lambda e: str((e.trigger or {}).get("date")))

    def state(self, flow_id: str, trigger_id: str = "schedule") -> ScheduleState:
        with self.store.unit(read_only=True) as repos:
            doc = repos.triggers.read_trigger_state(NS, flow_id, trigger_id)
        assert doc is not None
        return ScheduleState.from_doc(doc)

    def close(self) -> None:
        self._running.close()


@pytest.fixture
def runtime(tmp_path: Path, engine_factory: EngineFactory) -> Iterator[Runtime]:
    found = Runtime(engine_factory, tmp_path)
    yield found
    found.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


def flow(flow_id: str, trigger: str, task: str = "") -> str:
    task = task or (
        "  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: '{{ trigger.date }}'\n"
    )
    return (
        f"id: {flow_id}\nnamespace: {NS}\ntasks:\n{task}triggers:\n  - id: schedule\n"
        f"    type: io.kestra.plugin.core.trigger.Schedule\n{trigger}"
    )


def dates(executions: list[Execution]) -> list[str]:
    return [str((e.trigger or {})["date"]) for e in executions]


def minutes(*values: int, hour: int = 10) -> list[str]:
    return [f"2024-05-15T{hour}:{m:02d}:00Z" for m in values]


# -- firing -----------------------------------------------------------------------------------


def test_a_new_trigger_fires_from_the_next_slot_never_the_past(
    runtime: Runtime, clock: Clock
) -> None:
    runtime.save(flow("every_minute", "    cron: '* * * * *'\n"))
    scheduler = runtime.scheduler(clock)
    assert scheduler.tick() == []
    assert runtime.state("every_minute").next == datetime(2024, 5, 15, 10, 1, tzinfo=UTC)
    clock.at("2024-05-15T10:00:59+00:00")
    assert scheduler.tick() == []
    clock.at("2024-05-15T10:01:00.200+00:00")
    created = scheduler.tick()
    assert dates(created) == minutes(1)
    assert scheduler.tick() == []
    state = runtime.state("every_minute")
    assert (state.last, state.last_execution_id) == (
        datetime(2024, 5, 15, 10, 1, tzinfo=UTC), created[0].id,
    )  # fmt: skip


def test_a_running_flow_sees_trigger_date_next_and_previous_in_its_time_zone(
    runtime: Runtime, clock: Clock
) -> None:
    task = (
        "  - id: dates\n    type: io.kestra.plugin.core.debug.Return\n"
        "    format: '{{ trigger.date }}|{{ trigger.next }}|{{ trigger.previous }}'\n"
    )
    runtime.save(flow("paris", "    cron: '0 9 * * *'\n    timezone: Europe/Paris\n", task))
    clock.at("2024-03-30T07:30:00+00:00")
    scheduler = runtime.scheduler(clock)
    scheduler.tick()
    clock.at("2024-03-30T08:00:00.300+00:00")  # 09:00 in Paris, the day before summer time
    (created,) = scheduler.tick()
    done = ended(runtime.engine, created.id)
    assert done.state is State.SUCCESS
    assert done.task_runs[0].outputs["value"] == (
        "2024-03-30T09:00:00+01:00|2024-03-31T09:00:00+02:00|2024-03-29T09:00:00+01:00"
    )


def test_a_six_field_cron_fires_on_its_seconds(runtime: Runtime, clock: Clock) -> None:
    runtime.save(
        flow("seconds", "    cron: '*/20 * * * * *'\n    withSeconds: true\n"
             "    allowConcurrent: true\n")
    )  # fmt: skip
    clock.at("2024-05-15T10:00:00.100+00:00")
    scheduler = runtime.scheduler(clock)
    scheduler.tick()
    fired: list[Execution] = []
    for second in ("20", "40"):
        clock.at(f"2024-05-15T10:00:{second}.100+00:00")
        fired += scheduler.tick()
    assert dates(fired) == ["2024-05-15T10:00:20Z", "2024-05-15T10:00:40Z"]


def test_trigger_inputs_are_rendered_and_labels_added(runtime: Runtime, clock: Clock) -> None:
    source = (
        f"id: inputs\nnamespace: {NS}\ninputs:\n  - id: day\n    type: STRING\n"
        "tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        "triggers:\n  - id: schedule\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        "    cron: '0 * * * *'\n    inputs:\n      day: \"{{ trigger.date | date('yyyy-MM-dd') }}\"\n"
        "    labels:\n      team: data\n"
    )
    runtime.save(source)
    scheduler = runtime.scheduler(clock)
    scheduler.tick()
    clock.at("2024-05-15T11:00:00.100+00:00")
    (created,) = scheduler.tick()
    assert created.inputs == {"day": "2024-05-15"}
    assert created.labels["team"] == "data"
    assert "system.backfill" not in created.labels


# -- two schedulers ---------------------------------------------------------------------------


def test_two_schedulers_on_one_clock_create_one_execution_per_slot(
    runtime: Runtime, clock: Clock
) -> None:
    runtime.save(flow("shared", "    cron: '* * * * *'\n    allowConcurrent: true\n"))
    first, second = runtime.scheduler(clock), runtime.scheduler(clock)
    first.tick()
    second.tick()
    created: list[Execution] = []
    for minute in range(1, 41):
        clock.now = START.replace(second=0) + timedelta(minutes=minute, milliseconds=100)
        created += first.tick() if minute % 2 else second.tick()
        created += second.tick() if minute % 2 else first.tick()
    expected = [f"2024-05-15T{10 + m // 60}:{m % 60:02d}:00Z" for m in range(1, 41)]
    assert sorted(dates(created)) == expected
    assert dates(runtime.executions("shared")) == expected


@pytest.fixture
def on_postgresql(
    tmp_path: Path, postgres_url: str, engine_factory: EngineFactory
) -> Iterator[list[Runtime]]:
    """Two runtimes (store, engine) on one PostgreSQL database, as two processes would be."""
    runtimes = [
        Runtime(
            engine_factory,
            tmp_path / name,
            StoreSettings(home=tmp_path / name, database_url=postgres_url, secret_key=b"k" * 32),
        )
        for name in ("one", "two")
    ]
    yield runtimes
    for runtime in runtimes:
        runtime.close()


def tick_together(
    schedulers: list[TriggerScheduler], clock: Clock, steps: int
) -> list[list[Execution]]:
    """Each scheduler in its own thread, both ticking at once at each minute up to ``steps``;
    the executions each one created."""
    barrier = threading.Barrier(len(schedulers))
    created: list[list[Execution]] = [[] for _ in schedulers]
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            for step in range(steps + 1):
                barrier.wait(timeout=60)
                if index == 0:
                    clock.now = START.replace(second=0) + timedelta(minutes=step, milliseconds=100)
                barrier.wait(timeout=60)
                created[index] += schedulers[index].tick()
        except BaseException as exc:
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(schedulers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    return created


def test_two_schedulers_ticking_at_once_on_postgresql_create_one_execution_per_slot(
    on_postgresql: list[Runtime],
) -> None:
    clock = Clock(START)
    on_postgresql[0].save(flow("pg", "    cron: '* * * * *'\n    allowConcurrent: true\n"))
    created = tick_together([r.scheduler(clock) for r in on_postgresql], clock, steps=30)
    expected = [f"2024-05-15T10:{m:02d}:00Z" for m in range(1, 31)]
    assert sorted(dates(created[0] + created[1])) == expected
    per_slot = Counter(dates(on_postgresql[1].executions("pg")))
    assert sorted(per_slot) == expected and set(per_slot.values()) == {1}


def test_many_schedules_fire_each_slot_once_with_two_schedulers_on_postgresql(
    on_postgresql: list[Runtime],
) -> None:
    clock = Clock(START)
    names = [f"many{n}" for n in range(8)]
    for name in names:
        on_postgresql[0].save(flow(name, "    cron: '* * * * *'\n    allowConcurrent: true\n"))
    created = tick_together([r.scheduler(clock) for r in on_postgresql], clock, steps=5)
    expected = [f"2024-05-15T10:{m:02d}:00Z" for m in range(1, 6)]
    assert len(created[0] + created[1]) == len(names) * len(expected)
    for name in names:
        assert dates(on_postgresql[1].executions(name)) == expected


def test_a_slot_that_cannot_fire_leaves_the_other_slots_of_its_pass(
    runtime: Runtime, clock: Clock
) -> None:
    runtime.save(flow("plain", "    cron: '* * * * *'\n    allowConcurrent: true\n"))
    runtime.save(
        "id: needy\nnamespace: sched.tests\ninputs:\n  - id: size\n    type: INT\n"
        "tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        "triggers:\n  - id: schedule\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        "    cron: '* * * * *'\n    allowConcurrent: true\n"
    )
    scheduler = runtime.scheduler(clock)
    scheduler.tick()
    clock.at("2024-05-15T10:01:00.100+00:00")
    assert [e.flow_id for e in scheduler.tick()] == ["plain"]
    error = runtime.state("needy").error
    assert error is not None and "slot 2024-05-15T10:01:00Z did not fire" in error
    clock.at("2024-05-15T10:02:00.100+00:00")
    assert [e.flow_id for e in scheduler.tick()] == ["plain"]
    assert runtime.state("plain").error is None
    assert runtime.executions("needy") == []


# -- catch-up ---------------------------------------------------------------------------------


def _down_for_ten_minutes(runtime: Runtime, clock: Clock, trigger: str) -> TriggerScheduler:
    runtime.save(flow("catchup", "    cron: '* * * * *'\n    allowConcurrent: true\n" + trigger))
    scheduler = runtime.scheduler(clock, max_fires_per_tick=3)
    scheduler.tick()
    clock.at("2024-05-15T10:10:40+00:00")
    return scheduler


def test_catch_up_all_fires_every_missed_slot_a_bounded_number_per_tick(
    runtime: Runtime, clock: Clock
) -> None:
    scheduler = _down_for_ten_minutes(runtime, clock, "")
    per_tick = [dates(scheduler.tick()) for _ in range(5)]
    assert [len(batch) for batch in per_tick] == [3, 3, 3, 1, 0]
    assert [slot for batch in per_tick for slot in batch] == minutes(*range(1, 11))


def test_catch_up_last_fires_only_the_latest_missed_slot(runtime: Runtime, clock: Clock) -> None:
    scheduler = _down_for_ten_minutes(runtime, clock, "    recoverMissedSchedules: LAST\n")
    assert dates(scheduler.tick()) == minutes(10)
    assert scheduler.tick() == []
    clock.at("2024-05-15T10:11:00.100+00:00")
    assert dates(scheduler.tick()) == minutes(11)


def test_catch_up_none_fires_no_missed_slot_and_resumes_with_the_next(
    runtime: Runtime, clock: Clock
) -> None:
    scheduler = _down_for_ten_minutes(runtime, clock, "    recoverMissedSchedules: NONE\n")
    assert scheduler.tick() == []
    assert runtime.state("catchup").next == datetime(2024, 5, 15, 10, 11, tzinfo=UTC)
    clock.at("2024-05-15T10:11:00.100+00:00")
    assert dates(scheduler.tick()) == minutes(11)
    assert runtime.executions("catchup") != [] and len(runtime.executions("catchup")) == 1


def test_the_scheduler_default_policy_applies_when_the_trigger_names_none(
    runtime: Runtime, clock: Clock
) -> None:
    runtime.save(flow("default", "    cron: '* * * * *'\n    allowConcurrent: true\n"))
    scheduler = runtime.scheduler(clock, recover_missed="NONE")
    scheduler.tick()
    clock.at("2024-05-15T10:05:40+00:00")
    assert scheduler.tick() == []
    # A missed-slot tolerance of 30 s: the slot of 10:06 seen 5 s late is on time.
    clock.at("2024-05-15T10:06:05+00:00")
    assert dates(scheduler.tick()) == minutes(6)


def test_late_maximum_delay_skips_slots_older_than_it(runtime: Runtime, clock: Clock) -> None:
    scheduler = _down_for_ten_minutes(runtime, clock, "    lateMaximumDelay: PT2M\n")
    assert dates(scheduler.tick()) == minutes(9, 10)
    assert scheduler.tick() == []


def test_late_maximum_delay_skips_a_backlog_entirely_older_than_it(
    runtime: Runtime, clock: Clock
) -> None:
    scheduler = _down_for_ten_minutes(runtime, clock, "    lateMaximumDelay: PT20S\n")
    assert scheduler.tick() == []
    assert runtime.state("catchup").next == datetime(2024, 5, 15, 10, 11, tzinfo=UTC)
    clock.at("2024-05-15T10:11:00.100+00:00")
    assert dates(scheduler.tick()) == minutes(11)


# -- conditions, concurrency, stopAfter, disabled ---------------------------------------------


def test_conditions_skip_the_slots_they_reject(runtime: Runtime, clock: Clock) -> None:
    weekend = (
        "    cron: '0 8 * * *'\n    allowConcurrent: true\n    conditions:\n"
        "      - type: io.kestra.plugin.core.condition.Weekend\n"
    )
    monday = (
        "    cron: '0 8 * * *'\n    allowConcurrent: true\n    scheduleConditions:\n"
        "      - type: io.kestra.plugin.core.condition.DayWeek\n        dayOfWeek: MONDAY\n"
    )
    runtime.save(flow("weekend", weekend))
    runtime.save(flow("monday", monday))
    scheduler = runtime.scheduler(clock)
    scheduler.tick()
    fired: list[Execution] = []
    for day in range(16, 23):  # Thursday 16 to Wednesday 22
        clock.at(f"2024-05-{day}T08:00:00.100+00:00")
        fired += scheduler.tick()
    assert dates(runtime.executions("weekend")) == [
        "2024-05-18T08:00:00Z", "2024-05-19T08:00:00Z",
    ]  # fmt: skip
    assert dates(runtime.executions("monday")) == ["2024-05-20T08:00:00Z"]
    assert runtime.state("weekend").next == datetime(2024, 5, 23, 8, tzinfo=UTC)


def test_conditions_and_inputs_see_the_servers_envs_and_globals(
    tmp_path: Path, clock: Clock, engine_factory: EngineFactory
) -> None:
    runtime = Runtime(engine_factory, tmp_path, envs={"region": "eu"}, globals={"team": "data"})
    try:
        runtime.save(
            "id: served\nnamespace: sched.tests\n"
            "inputs:\n  - id: owner\n    type: STRING\n"
            "tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n"
            "    message: '{{ inputs.owner }}'\n"
            "triggers:\n  - id: schedule\n    type: io.kestra.plugin.core.trigger.Schedule\n"
            "    cron: '* * * * *'\n    inputs:\n      owner: '{{ globals.team }}'\n"
            "    conditions:\n      - type: io.kestra.plugin.core.condition.Expression\n"
            "        expression: \"{{ envs.region == 'eu' and globals.team == 'data' }}\"\n"
        )
        scheduler = runtime.scheduler(clock)
        scheduler.tick()
        clock.at("2024-05-15T10:01:00.100+00:00")
        (fired,) = scheduler.tick()
        assert fired.inputs == {"owner": "data"}
    finally:
        runtime.close()


def test_without_allow_concurrent_a_running_execution_holds_the_trigger(
    runtime: Runtime, clock: Clock
) -> None:
    pause = "  - id: wait\n    type: io.kestra.plugin.core.flow.Pause\n"
    runtime.save(flow("held", "    cron: '* * * * *'\n", pause))
    scheduler = runtime.scheduler(clock)
    scheduler.tick()
    clock.at("2024-05-15T10:01:00.100+00:00")
    (first,) = scheduler.tick()
    ended(runtime.engine, first.id, frozenset({State.PAUSED}))
    for minute in (2, 3):
        clock.at(f"2024-05-15T10:0{minute}:00.100+00:00")
        assert scheduler.tick() == []
    assert runtime.state("held").pending == [first.id]
    runtime.engine.resume(first.id)
    assert ended(runtime.engine, first.id).state is State.SUCCESS
    clock.at("2024-05-15T10:03:10+00:00")
    # The slots passed meanwhile are missed ones: ALL fires the oldest, which holds it again.
    assert dates(scheduler.tick()) == minutes(2)
    assert scheduler.tick() == []


def test_held_slots_follow_the_policy_none(runtime: Runtime, clock: Clock) -> None:
    pause = "  - id: wait\n    type: io.kestra.plugin.core.flow.Pause\n"
    runtime.save(flow("held_none", "    cron: '* * * * *'\n    recoverMissedSchedules: NONE\n",
                      pause))  # fmt: skip
    scheduler = runtime.scheduler(clock)
    scheduler.tick()
    clock.at("2024-05-15T10:01:00.100+00:00")
    (first,) = scheduler.tick()
    ended(runtime.engine, first.id, frozenset({State.PAUSED}))
    clock.at("2024-05-15T10:04:40+00:00")
    assert scheduler.tick() == []
    runtime.engine.resume(first.id)
    ended(runtime.engine, first.id)
    assert scheduler.tick() == []
    clock.at("2024-05-15T10:05:00.100+00:00")
    assert dates(scheduler.tick()) == minutes(5)


def test_stop_after_disables_the_trigger_when_an_execution_ends_so(
    runtime: Runtime, clock: Clock
) -> None:
    fail = "  - id: fail\n    type: io.kestra.plugin.core.execution.Fail\n"
    runtime.save(flow("fragile", "    cron: '* * * * *'\n    stopAfter: [FAILED]\n", fail))
    scheduler = runtime.scheduler(clock)
    scheduler.tick()
    clock.at("2024-05-15T10:01:00.100+00:00")
    (first,) = scheduler.tick()
    assert ended(runtime.engine, first.id).state is State.FAILED
    for minute in (2, 3, 4):
        clock.at(f"2024-05-15T10:0{minute}:00.100+00:00")
        assert scheduler.tick() == []
    state = runtime.state("fragile")
    assert state.disabled
    assert state.stopped_by == {"executionId": first.id, "state": "FAILED"}
    assert len(runtime.executions("fragile")) == 1


def test_an_execution_ending_in_another_state_does_not_stop_the_trigger(
    runtime: Runtime, clock: Clock
) -> None:
    runtime.save(flow("sturdy", "    cron: '* * * * *'\n    stopAfter: [FAILED]\n"))
    scheduler = runtime.scheduler(clock)
    scheduler.tick()
    fired: list[Execution] = []
    for minute in (1, 2):
        clock.at(f"2024-05-15T10:0{minute}:00.100+00:00")
        fired += scheduler.tick()
        assert ended(runtime.engine, fired[-1].id).state is State.SUCCESS
    clock.at("2024-05-15T10:03:00.100+00:00")
    fired += scheduler.tick()
    assert dates(fired) == minutes(1, 2, 3)
    assert not runtime.state("sturdy").disabled


@pytest.mark.parametrize(("flow_disabled", "trigger_disabled"), [(True, False), (False, True)])
def test_a_disabled_flow_or_trigger_never_fires(
    runtime: Runtime, clock: Clock, flow_disabled: bool, trigger_disabled: bool
) -> None:
    trigger = "    cron: '* * * * *'\n    allowConcurrent: true\n"
    source = flow("off", trigger + ("    disabled: true\n" if trigger_disabled else ""))
    runtime.save(source + ("disabled: true\n" if flow_disabled else ""))
    scheduler = runtime.scheduler(clock)
    for minute in range(0, 5):
        clock.at(f"2024-05-15T10:0{minute}:00.100+00:00")
        assert scheduler.tick() == []
    assert runtime.state("off").off
    assert runtime.executions("off") == []
    # Enabled again, it starts from now: the slots it spent disabled are not fired.
    runtime.save(flow("off", trigger))
    clock.at("2024-05-15T10:04:30+00:00")
    assert scheduler.tick() == []
    clock.at("2024-05-15T10:05:00.100+00:00")
    assert dates(scheduler.tick()) == minutes(5)


def test_a_trigger_removed_from_its_flow_is_forgotten(runtime: Runtime, clock: Clock) -> None:
    runtime.save(flow("removed", "    cron: '* * * * *'\n"))
    scheduler = runtime.scheduler(clock)
    scheduler.tick()
    runtime.state("removed")
    runtime.save(
        f"id: removed\nnamespace: {NS}\ntasks:\n"
        "  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )
    scheduler.tick()
    with runtime.store.unit(read_only=True) as repos:
        assert repos.triggers.read_trigger_state(NS, "removed", "schedule") is None


def test_each_pass_sees_the_flows_saved_changed_or_deleted_since_the_last(
    runtime: Runtime, clock: Clock
) -> None:
    """A pass reads only the revisions it has not parsed: the first reads all 25 flows at once,
    the next the one changed; a deleted flow's trigger is forgotten."""
    for n in range(25):
        runtime.save(flow(f"many{n}", "    cron: '* * * * *'\n"))
    scheduler = runtime.scheduler(clock)
    scheduler.tick()
    assert not any(runtime.state(f"many{n}").off for n in range(25))
    runtime.save(flow("many3", "    cron: '* * * * *'\n    disabled: true\n"))
    with runtime.store.unit() as repos:
        assert repos.flows.delete_flow(NS, "many4")
    scheduler.tick()
    assert runtime.state("many3").off and not runtime.state("many5").off
    with runtime.store.unit(read_only=True) as repos:
        assert repos.triggers.read_trigger_state(NS, "many4", "schedule") is None
        assert repos.flows.latest_revisions()[:4] == [
            (NS, "many0", 1),
            (NS, "many1", 1),
            (NS, "many10", 1),
            (NS, "many11", 1),
        ]
        assert (NS, "many3", 2) in repos.flows.latest_revisions()
        assert all(key[1] != "many4" for key in repos.flows.latest_revisions())


# -- backfills --------------------------------------------------------------------------------


def test_a_backfill_block_replays_its_range_labelled_then_the_live_schedule_goes_on(
    runtime: Runtime, clock: Clock
) -> None:
    trigger = (
        "    cron: '*/15 * * * *'\n    allowConcurrent: true\n"
        "    backfill:\n      start: '2024-05-15T09:00:00Z'\n"
        "      labels:\n        reason: outage\n"
    )
    runtime.save(flow("replay", trigger))
    scheduler = runtime.scheduler(clock, backfill_rate=2)
    batches = [dates(scheduler.tick()) for _ in range(4)]
    # [09:00, 10:00:30): five slots, two per tick.
    assert batches == [
        ["2024-05-15T09:00:00Z", "2024-05-15T09:15:00Z"],
        ["2024-05-15T09:30:00Z", "2024-05-15T09:45:00Z"],
        ["2024-05-15T10:00:00Z"],
        [],
    ]
    backfill = runtime.state("replay").backfill
    assert backfill is not None
    assert (backfill.done, backfill.handled, backfill.created, backfill.total) == (True, 5, 5, 5)
    replayed = runtime.executions("replay")
    assert {(e.labels["system.backfill"], e.labels["reason"]) for e in replayed} == {
        ("true", "outage")
    }
    clock.at("2024-05-15T10:15:00.100+00:00")
    (live,) = scheduler.tick()
    assert "system.backfill" not in live.labels


def test_a_backfill_fires_exactly_the_slots_of_start_inclusive_to_end_exclusive_once(
    runtime: Runtime, clock: Clock
) -> None:
    source = (
        f"id: ranged\nnamespace: {NS}\ninputs:\n  - id: mode\n    type: STRING\n"
        "tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        "triggers:\n  - id: schedule\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        "    cron: '0 * * * *'\n    allowConcurrent: true\n    inputs:\n      mode: live\n"
    )
    runtime.save(source)
    scheduler = runtime.scheduler(clock)
    scheduler.tick()
    start, end = datetime(2024, 5, 14, 1, tzinfo=UTC), datetime(2024, 5, 14, 5, tzinfo=UTC)

    def request() -> None:
        with runtime.store.unit() as repos:
            state = ScheduleState.from_doc(
                repos.triggers.read_trigger_state(NS, "ranged", "schedule")
            )
            state.backfill = new_backfill(
                Cron.parse("0 * * * *"), start, end, clock.now, {"mode": "replay"}, {"run": "1"}
            )
            repos.triggers.update_trigger_state(NS, "ranged", "schedule", state.to_doc())

    request()
    replayed = scheduler.tick() + scheduler.tick()
    assert sorted(dates(replayed)) == [f"2024-05-14T0{h}:00:00Z" for h in (1, 2, 3, 4)]
    assert {e.inputs["mode"] for e in replayed} == {"replay"}
    assert {e.labels["run"] for e in replayed} == {"1"}
    # The same range again creates nothing: a slot never fires twice.
    request()
    assert scheduler.tick() == []
    backfill = runtime.state("ranged").backfill
    assert backfill is not None and (backfill.done, backfill.handled, backfill.created) == (
        True, 4, 0,
    )  # fmt: skip


# -- the thread -------------------------------------------------------------------------------


def test_the_thread_survives_a_failing_tick_and_fires_on_the_next(
    runtime: Runtime,
) -> None:
    runtime.save(flow("threaded", "    cron: '* * * * *'\n    allowConcurrent: true\n"))
    moments = iter([START, START])  # the first pass sees the trigger, the next one fails
    calls = 0

    def clock() -> datetime:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("clock failure")
        return next(moments, START.replace(second=0) + timedelta(minutes=1, milliseconds=100))

    scheduler = TriggerScheduler(
        runtime.store, runtime.engine, SchedulerSettings(interval=0.05), clock
    )
    scheduler.start()
    try:
        wait_until(lambda: runtime.executions("threaded"), what="the scheduler firing")
    finally:
        scheduler.stop()
    assert not scheduler.running
    assert calls >= 3
    assert dates(runtime.executions("threaded")) == minutes(1)


def test_trigger_toggle_switches_a_schedule_off_and_on_again(
    runtime: Runtime, clock: Clock
) -> None:
    runtime.save(flow("toggled", "    cron: '* * * * *'\n"))
    for enabled in ("false", "true"):
        task = (
            f"  - id: toggle\n    type: io.kestra.plugin.core.trigger.Toggle\n"
            f"    flowId: toggled\n    trigger: schedule\n    enabled: {enabled}\n"
        )
        runtime.save(f"id: switch_{enabled}\nnamespace: {NS}\ntasks:\n{task}")
    scheduler = runtime.scheduler(clock)
    scheduler.tick()
    clock.at("2024-05-15T10:01:00.100+00:00")
    assert dates(scheduler.tick()) == minutes(1)

    switched = runtime.engine.create_execution(NS, "switch_false", {})
    assert ended(runtime.engine, switched.id).state is State.SUCCESS
    for minute in (2, 3):
        clock.at(f"2024-05-15T10:0{minute}:00.100+00:00")
        assert scheduler.tick() == []
    assert runtime.state("toggled").disabled

    switched = runtime.engine.create_execution(NS, "switch_true", {})
    assert ended(runtime.engine, switched.id).state is State.SUCCESS
    assert not runtime.state("toggled").toggled_off
    scheduler.tick()  # back on from the next slot; the slots it missed are not replayed
    clock.at("2024-05-15T10:04:00.100+00:00")
    assert dates(scheduler.tick()) == minutes(4)


def test_trigger_toggle_of_a_trigger_the_flow_lacks_fails(runtime: Runtime) -> None:
    runtime.save(flow("toggled", "    cron: '* * * * *'\n"))
    task = "  - id: toggle\n    type: io.kestra.plugin.core.trigger.Toggle\n    flowId: toggled\n    trigger: nope\n"
    runtime.save(f"id: switch\nnamespace: {NS}\ntasks:\n{task}")
    switched = ended(runtime.engine, runtime.engine.create_execution(NS, "switch", {}).id)
    assert switched.state is State.FAILED
    error = switched.task_runs[0].attempts[-1].error or ""
    assert "Unable to find trigger nope for the flow" in error


def on_dates(flow_id: str, trigger: str) -> str:
    return (
        f"id: {flow_id}\nnamespace: {NS}\ntasks:\n  - id: log\n"
        "    type: io.kestra.plugin.core.log.Log\n    message: '{{ trigger.date }}'\n"
        "triggers:\n  - id: schedule\n"
        f"    type: io.kestra.plugin.core.trigger.ScheduleOnDates\n{trigger}"
    )


def test_schedule_on_dates_fires_once_at_each_listed_date(runtime: Runtime, clock: Clock) -> None:
    runtime.save(on_dates("dated", (
        "    timezone: Europe/Paris\n    dates:\n      - '2024-05-15T12:02:00'\n"
        "      - '2024-05-15T10:04:00Z'\n      - '2024-05-15T09:00:00Z'\n"
    )))  # fmt: skip
    scheduler = runtime.scheduler(clock)
    assert scheduler.tick() == []  # 09:00 was before the trigger was first seen
    fired = []
    for minute in (1, 2, 3, 4, 5):
        clock.at(f"2024-05-15T10:0{minute}:00.100+00:00")
        fired += scheduler.tick()
        for execution in fired:  # one at a time: a trigger does not overlap its executions
            assert ended(runtime.engine, execution.id).state is State.SUCCESS
    # 12:02 in Paris is 10:02 UTC in May.
    assert [(e.trigger or {}).get("date") for e in fired] == [
        "2024-05-15T12:02:00+02:00",
        "2024-05-15T12:04:00+02:00",
    ]
    clock.at("2024-05-16T00:00:00.100+00:00")
    assert scheduler.tick() == []


def test_schedule_on_dates_renders_an_expression_of_dates(runtime: Runtime, clock: Clock) -> None:
    runtime.save(on_dates("rendered", "    dates: \"{{ ['2024-05-15T10:01:00Z'] }}\"\n"))
    scheduler = runtime.scheduler(clock)
    scheduler.tick()
    clock.at("2024-05-15T10:01:00.100+00:00")
    assert dates(scheduler.tick()) == minutes(1)
