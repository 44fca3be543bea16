"""``weir backfill`` as a user runs it, against a live server on 127.0.0.1 (uvicorn in a thread)
whose store and engine a scheduler in the test replays from, its clock set by the test. The
server runs no scheduler of its own: ``weir server standalone`` would replay in real time."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controlplane.api import ApiSettings, create_app
from controlplane.engine.engine import Engine
from controlplane.engine.ports import Store
from controlplane.engine.scheduler import SchedulerSettings, TriggerScheduler
from controlplane.store import SqlStore, StoreSettings
from tests.conftest import EngineFactory
from tests.integration.api.conftest import LiveServer
from tests.standalone import WEIR
from tests.waiting import Stalled, executions_progress, wait_until

NS = "cli.backfill"
NOW = datetime(2024, 5, 15, 10, 0, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def runtime(
    tmp_path_factory: pytest.TempPathFactory, engine_factory: EngineFactory
) -> Iterator[tuple[SqlStore, Engine, Path]]:
    """The server's store and engine, made here: the only scheduler is the test's."""
    home = tmp_path_factory.mktemp("backfill")
    with engine_factory.running(home, concurrency=2) as (store, engine):
        yield store, engine, home


@pytest.fixture(scope="module")
def server(runtime: tuple[SqlStore, Engine, Path]) -> Iterator[LiveServer]:
    store, engine, home = runtime
    found = LiveServer(
        create_app(ApiSettings(store=StoreSettings(home=home)), store=store, engine=engine)
    )
    yield found
    found.stop()


@pytest.fixture(scope="module")
def store(runtime: tuple[SqlStore, Engine, Path]) -> Store:
    return runtime[0]


@pytest.fixture(scope="module")
def scheduler(runtime: tuple[SqlStore, Engine, Path]) -> TriggerScheduler:
    store, engine, _ = runtime
    return TriggerScheduler(store, engine, SchedulerSettings(backfill_rate=1), lambda: NOW)


def save(store: Store, flow_id: str, triggers: str) -> None:
    source = (
        f"id: {flow_id}\nnamespace: {NS}\ninputs:\n  - id: mode\n    type: STRING\n"
        "    defaults: live\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n"
        "    message: '{{ inputs.mode }}'\ntriggers:\n" + triggers
    )
    with store.unit() as repos:
        repos.flows.create_flow_revision(NS, flow_id, source, None)


def schedule(trigger_id: str) -> str:
    return (
        f"  - id: {trigger_id}\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        "    cron: '0 * * * *'\n    allowConcurrent: true\n"
    )


def weir(server: LiveServer, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "WEIR_URL": server.url}
    env.pop("WEIR_TOKEN", None)
    return subprocess.Popen(
        [WEIR, "backfill", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def finish(
    process: subprocess.Popen[str], scheduler: TriggerScheduler | None = None
) -> tuple[int, str, str]:
    """Tick ``scheduler`` until the command exits; its exit code and output. The wait lasts
    while the scheduler's store advances (executions created, ending)."""

    def exited() -> int | None:
        if scheduler is not None:
            scheduler.tick()
        return process.poll()

    progress = (lambda: executions_progress(scheduler.store)) if scheduler else None
    try:
        wait_until(exited, lambda code: code is not None, "weir backfill", progress=progress)
    except Stalled:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"weir backfill did not end:\n{out}\n{err}") from None
    out, err = process.communicate()
    return process.returncode, out, err


def test_backfill_with_wait_replays_the_range_and_reports_it(
    server: LiveServer, store: Store, scheduler: TriggerScheduler
) -> None:
    save(store, "waited", schedule("hourly"))
    process = weir(
        server, NS, "waited", "--from", "2024-05-14T01:00:00Z", "--to", "2024-05-14T05:00:00Z",
        "--label", "reason=outage", "--input", "mode=replay", "--wait", "--poll", "0.1",
    )  # fmt: skip
    code, out, err = finish(process, scheduler)
    assert code == 0, err
    assert out.splitlines() == [
        "Backfill of trigger hourly of flow cli.backfill/waited: 4 slots from "
        "2024-05-14T01:00:00+00:00 (included) to 2024-05-14T05:00:00+00:00 (excluded).",
        "Backfill done: 4 slots replayed, 4 executions created.",
    ]
    with store.unit(read_only=True) as repos:
        replayed = repos.executions.list_executions(NS, "waited", limit=100)
    assert sorted((e.trigger or {})["date"] for e in replayed) == [
        f"2024-05-14T0{hour}:00:00Z" for hour in (1, 2, 3, 4)
    ]
    assert {
        (e.labels["system.backfill"], e.labels["reason"], e.inputs["mode"]) for e in replayed
    } == {("true", "outage", "replay")}


def test_backfill_without_wait_asks_and_returns(server: LiveServer, store: Store) -> None:
    save(store, "asked", schedule("nightly") + schedule("hourly"))
    process = weir(
        server, NS, "asked", "--trigger", "nightly", "--from", "2024-05-01T00:00:00Z",
        "--to", "2024-05-01T02:00:00Z",
    )  # fmt: skip
    code, out, err = finish(process)
    assert code == 0, err
    assert "Backfill of trigger nightly of flow cli.backfill/asked: 2 slots" in out
    with store.unit(read_only=True) as repos:
        document = repos.triggers.read_trigger_state(NS, "asked", "nightly")
    assert document is not None and document["backfill"]["start"] == "2024-05-01T00:00:00Z"


@pytest.mark.parametrize(
    ("flow_id", "triggers", "args", "message"),
    [
        (
            "two",
            schedule("a") + schedule("b"),
            (),
            "error: flow cli.backfill/two has 2 Schedule triggers (a, b); name one with --trigger",
        ),
        (
            "none",
            "  - id: hook\n    type: io.kestra.plugin.core.trigger.Webhook\n    key: k\n",
            (),
            "error: flow cli.backfill/none has no Schedule trigger to backfill",
        ),
        (
            "nothere",
            schedule("hourly"),
            ("--trigger", "daily"),
            "error: flow cli.backfill/nothere has no trigger daily",
        ),
        (
            "badinput",
            schedule("hourly"),
            ("--input", "novalue"),
            "error: --input 'novalue': expected KEY=VALUE",
        ),
    ],
)
def test_what_cannot_be_backfilled_is_refused_with_its_reason(
    server: LiveServer,
    store: Store,
    flow_id: str,
    triggers: str,
    args: tuple[str, ...],
    message: str,
) -> None:
    save(store, flow_id, triggers)
    code, out, err = finish(weir(server, NS, flow_id, "--from", "2024-05-01T00:00:00Z", *args))
    assert (code, out) == (1, "")
    assert err.strip() == message


def test_a_date_that_is_not_iso_is_refused(server: LiveServer) -> None:
    code, _, err = finish(weir(server, NS, "any", "--from", "yesterday"))
    assert code == 1
    assert err.strip() == (
        "error: --from 'yesterday' is not an ISO 8601 date-time such as 2024-05-01T00:00:00Z"
    )
