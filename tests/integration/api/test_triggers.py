"""Trigger states and backfills through the API, replayed by a scheduler on the server's own
store and engine (its clock set by the test; the server runs no scheduler of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from controlplane.api import ApiSettings, create_app
from controlplane.api.auth import issue_token
from controlplane.engine.engine import Engine
from controlplane.engine.model import Execution
from controlplane.engine.ports import Store
from controlplane.engine.scheduler import SchedulerSettings, TriggerScheduler
from controlplane.store import SqlStore, StoreSettings
from tests.conftest import EngineFactory
from tests.integration.api.conftest import Api, LiveServer, serve

NOW = datetime(2024, 5, 15, 10, 0, 30, tzinfo=UTC)


def hourly(namespace: str, flow_id: str, extra: str = "") -> str:
    return (
        f"id: {flow_id}\nnamespace: {namespace}\n"
        "tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        "triggers:\n  - id: hourly\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        "    cron: '0 * * * *'\n    allowConcurrent: true\n" + extra
    )


@pytest.fixture(scope="module")
def runtime(api_home: Path, engine_factory: EngineFactory) -> Iterator[tuple[SqlStore, Engine]]:
    """The server's store and engine, made here: the only scheduler is the test's."""
    with engine_factory.running(StoreSettings(home=api_home), concurrency=2) as running:
        yield running.store, running.engine


@pytest.fixture(scope="module")
def live_server(api_home: Path, runtime: tuple[SqlStore, Engine]) -> Iterator[LiveServer]:
    store, engine = runtime
    server = LiveServer(
        create_app(ApiSettings(store=StoreSettings(home=api_home)), store=store, engine=engine)
    )
    yield server
    server.stop()


@pytest.fixture
def store(runtime: tuple[SqlStore, Engine]) -> Store:
    return runtime[0]


@pytest.fixture
def scheduler(runtime: tuple[SqlStore, Engine]) -> TriggerScheduler:
    store, engine = runtime
    return TriggerScheduler(store, engine, SchedulerSettings(backfill_rate=3), lambda: NOW)


def save(api: Api, source: str) -> None:
    namespace = source.split("namespace: ", 1)[1].split("\n", 1)[0]
    flow_id = source.split("id: ", 1)[1].split("\n", 1)[0]
    answer = api.put(
        f"/flows/{namespace}/{flow_id}",
        data=source,
        headers={"Content-Type": "application/x-yaml"},
    )
    assert answer.status_code in (200, 201), answer.text


def executions(store: Store, namespace: str, flow_id: str) -> list[Execution]:
    with store.unit(read_only=True) as repos:
        found = repos.executions.list_executions(namespace, flow_id, limit=1000)
    return sorted(found, key=lambda e: str((e.trigger or {})["date"]))


def state(api: Api, namespace: str, flow_id: str, trigger_id: str = "hourly") -> dict[str, Any]:
    answer = api.get(f"/triggers/{namespace}/{flow_id}/{trigger_id}")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_trigger_states_are_listed_by_namespace_and_below(
    api: Api, scheduler: TriggerScheduler
) -> None:
    save(api, hourly("list.a", "one"))
    save(api, hourly("list.a.b", "two"))
    save(api, hourly("list.c", "three"))
    scheduler.tick()
    listed = api.get("/triggers", params={"namespace": "list.a"})
    assert listed.status_code == 200
    found = {(s["namespace"], s["flowId"], s["triggerId"]): s for s in listed.json()}
    assert set(found) == {("list.a", "one", "hourly"), ("list.a.b", "two", "hourly")}
    one = found[("list.a", "one", "hourly")]
    assert one["type"] == "io.kestra.plugin.core.trigger.Schedule"
    assert (one["next"], one["last"], one["disabled"], one["backfill"]) == (
        "2024-05-15T11:00:00Z", None, False, None,
    )  # fmt: skip
    assert api.get("/triggers/list.c/three/hourly").json()["next"] == "2024-05-15T11:00:00Z"


def test_a_backfill_replays_its_range_and_shows_its_progress(
    api: Api, store: Store, scheduler: TriggerScheduler
) -> None:
    save(api, hourly("bf.api", "replay"))
    body = {
        "start": "2024-05-14T20:00:00Z",
        "end": "2024-05-15T03:00:00Z",
        "labels": {"reason": "outage"},
    }
    answer = api.put("/triggers/bf.api/replay/hourly/backfill", json=body)
    assert answer.status_code == 200, answer.text
    backfill = answer.json()["backfill"]
    assert (backfill["start"], backfill["end"], backfill["total"], backfill["handled"]) == (
        "2024-05-14T20:00:00Z", "2024-05-15T03:00:00Z", 7, 0,
    )  # fmt: skip
    assert backfill["done"] is False
    scheduler.tick()
    middle = state(api, "bf.api", "replay")["backfill"]
    assert (middle["handled"], middle["done"]) == (3, False)
    for _ in range(3):
        scheduler.tick()
    done = state(api, "bf.api", "replay")["backfill"]
    assert (done["handled"], done["created"], done["done"]) == (7, 7, True)
    replayed = executions(store, "bf.api", "replay")
    assert [(e.trigger or {})["date"] for e in replayed] == [
        "2024-05-14T20:00:00Z", "2024-05-14T21:00:00Z", "2024-05-14T22:00:00Z",
        "2024-05-14T23:00:00Z", "2024-05-15T00:00:00Z", "2024-05-15T01:00:00Z",
        "2024-05-15T02:00:00Z",
    ]  # fmt: skip
    assert {(e.labels["system.backfill"], e.labels["reason"]) for e in replayed} == {
        ("true", "outage")
    }


def test_a_backfill_without_end_runs_to_now(api: Api, store: Store) -> None:
    save(api, hourly("bf.now", "open"))
    answer = api.put(
        "/triggers/bf.now/open/hourly/backfill", json={"start": "2000-01-01T00:00:00Z"}
    )
    assert answer.status_code == 200, answer.text
    backfill = answer.json()["backfill"]
    end = datetime.fromisoformat(backfill["end"])
    assert abs((end - datetime.now(UTC)).total_seconds()) < 3600
    # Over 10,000 hourly slots: not counted.
    assert backfill["total"] is None


def test_one_backfill_at_a_time_and_delete_cancels_it(api: Api) -> None:
    save(api, hourly("bf.cancel", "flow"))
    path = "/triggers/bf.cancel/flow/hourly/backfill"
    body = {"start": "2024-05-01T00:00:00Z", "end": "2024-05-02T00:00:00Z"}
    assert api.put(path, json=body).status_code == 200
    again = api.put(path, json=body)
    assert again.status_code == 409
    assert "cancel it with DELETE first" in again.json()["message"]
    assert api.delete(path).status_code == 204
    assert state(api, "bf.cancel", "flow")["backfill"] is None
    assert api.delete(path).status_code == 404
    assert api.put(path, json=body).status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        (
            "/triggers/bf.errors/hook/web/backfill",
            {"start": "2024-05-01T00:00:00Z"},
            400,
            "trigger web of flow bf.errors/hook is a io.kestra.plugin.core.trigger.Webhook; "
            "only a Schedule trigger can be backfilled",
        ),
        (
            "/triggers/bf.errors/missing/hourly/backfill",
            {"start": "2024-05-01T00:00:00Z"},
            404,
            "flow bf.errors/missing does not exist",
        ),
        (
            "/triggers/bf.errors/hook/nothere/backfill",
            {"start": "2024-05-01T00:00:00Z"},
            404,
            "flow bf.errors/hook has no trigger nothere",
        ),
        (
            "/triggers/bf.errors/hook/hourly/backfill",
            {"start": "2024-05-02T00:00:00Z", "end": "2024-05-02T00:00:00Z"},
            422,
            "start (2024-05-02T00:00:00+00:00) must be before end (2024-05-02T00:00:00+00:00); "
            "the end is now when left out",
        ),
    ],
)
def test_backfill_requests_that_cannot_be_done_are_refused(
    api: Api, path: str, body: dict[str, str], status: int, message: str
) -> None:
    save(
        api,
        hourly("bf.errors", "hook")
        + "  - id: web\n    type: io.kestra.plugin.core.trigger.Webhook\n    key: k\n",
    )
    answer = api.put(path, json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["message"] == message


def test_a_start_in_the_future_without_end_is_refused(api: Api) -> None:
    save(api, hourly("bf.future", "later"))
    answer = api.put(
        "/triggers/bf.future/later/hourly/backfill", json={"start": "2999-01-01T00:00:00Z"}
    )
    assert answer.status_code == 422
    assert answer.json()["message"].startswith("start (2999-01-01T00:00:00+00:00) must be before")


def test_a_time_without_offset_is_read_in_the_trigger_time_zone(api: Api) -> None:
    save(api, hourly("bf.zone", "paris", "    timezone: Europe/Paris\n"))
    answer = api.put(
        "/triggers/bf.zone/paris/hourly/backfill",
        json={"start": "2024-05-01T00:00:00", "end": "2024-05-01T03:00:00"},
    )
    assert answer.status_code == 200, answer.text
    backfill = answer.json()["backfill"]
    assert (backfill["start"], backfill["total"]) == ("2024-05-01T00:00:00+02:00", 3)


# -- tokens -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("guarded")
    server = serve(ApiSettings(store=StoreSettings(home=Path(home)), require_tokens=True))
    yield server
    server.stop()


def test_backfills_need_write_on_the_namespace_and_lists_show_only_reached_ones(
    guarded: LiveServer,
) -> None:
    store: Store = guarded.server.config.app.state.store
    _, admin = issue_token(store, "admin", "admin")
    _, reader = issue_token(store, "reader", "read")
    _, team = issue_token(store, "team", "write", ["team"])
    sessions = {}
    for name, token in (("admin", admin), ("reader", reader), ("team", team)):
        sessions[name] = Api(guarded.url)
        sessions[name].headers["Authorization"] = f"Bearer {token}"
    save(sessions["admin"], hourly("team", "mine"))
    save(sessions["admin"], hourly("other", "theirs"))
    body = {"start": "2024-05-01T00:00:00Z", "end": "2024-05-01T02:00:00Z"}
    refused = sessions["reader"].put("/triggers/team/mine/hourly/backfill", json=body)
    assert refused.status_code == 403
    assert sessions["team"].put(
        "/triggers/other/theirs/hourly/backfill", json=body
    ).status_code == (403)
    assert sessions["team"].put("/triggers/team/mine/hourly/backfill", json=body).status_code == 200
    assert sessions["admin"].put(
        "/triggers/other/theirs/hourly/backfill", json=body
    ).status_code == (200)
    seen = sessions["team"].get("/triggers").json()
    assert [(s["namespace"], s["flowId"]) for s in seen] == [("team", "mine")]
    assert len(sessions["reader"].get("/triggers").json()) == 2
