"""What the web UI reads executions with: search by labels and time range, keyset pages that
cover every execution once (ties included), a count that stops early, replay, and a long log
history followed in batches."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from controlplane.api import logstream
from controlplane.engine.model import Execution, State, Transition, new_id
from controlplane.engine.ports import ExecutionFilter, LogEntry, Store
from tests.integration.api.conftest import Api, LiveServer
from tests.integration.api.test_executions import quick_flow, read_events, start, wait_for

Json = dict[str, Any]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def store(live_server: LiveServer) -> Store:
    found: Store = live_server.server.config.app.state.store
    return found


def ended(namespace: str, at: datetime, labels: dict[str, str] | None = None) -> Execution:
    return Execution(
        id=new_id(),
        namespace=namespace,
        flow_id="browse",
        flow_revision=1,
        state=State.SUCCESS,
        history=[Transition(State.CREATED, at), Transition(State.SUCCESS, at)],
        labels=labels or {},
    )


@pytest.fixture(scope="module")
def executions(store: Store) -> list[Execution]:
    """Seven executions of ex.browse, newest first; two pairs started at the same instant."""
    offsets = [0, 1, 1, 2, 3, 3, 4]
    made = [
        ended("ex.browse", T0 + timedelta(minutes=m), {"team": "a" if i % 2 else "b"})
        for i, m in enumerate(offsets)
    ]
    with store.unit() as repos:
        for execution in made:
            repos.executions.create_execution(execution)
    return sorted(made, key=lambda e: (e.started, e.id), reverse=True)


def search(api: Api, **params: Any) -> Json:
    answer = api.get("/executions/search", params={"namespace": "ex.browse", **params})
    assert answer.status_code == 200, answer.text
    found: Json = answer.json()
    return found


def test_keyset_pages_cover_every_execution_once_in_order(
    api: Api, executions: list[Execution]
) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = search(api, size=2, **({"after": after} if after else {}))
        assert page["total"] == 7
        ids = [e["id"] for e in page["results"]]
        if not ids:
            break
        seen += ids
        after = ids[-1]
    assert seen == [e.id for e in executions]


def test_search_by_labels_and_time_range(api: Api, executions: list[Execution]) -> None:
    team_a = search(api, labels="team:a")
    assert {e["id"] for e in team_a["results"]} == {
        e.id for e in executions if e.labels["team"] == "a"
    }
    window = search(
        api,
        since=(T0 + timedelta(minutes=1)).isoformat(),
        until=(T0 + timedelta(minutes=3)).isoformat(),
    )
    assert sorted(e["id"] for e in window["results"]) == sorted(
        e.id
        for e in executions
        if T0 + timedelta(minutes=1) <= e.started < T0 + timedelta(minutes=3)
    )
    assert window["total"] == 3
    naive = search(api, since="2026-03-01T12:01:00", until="2026-03-01T12:03:00")
    assert naive["total"] == 3  # read as UTC
    assert search(api, labels="team:a", since=(T0 + timedelta(minutes=4)).isoformat())["total"] == 0


def test_a_count_may_stop_early(store: Store, executions: list[Execution]) -> None:
    with store.unit(read_only=True) as repos:
        found, total = repos.executions.search_executions(
            "ex.browse", limit=2, narrow=ExecutionFilter(count_up_to=4)
        )
    assert (len(found), total) == (2, 5)


def test_replay_starts_the_same_revision_with_the_same_inputs(api: Api, store: Store) -> None:
    quick_flow(store, "ex.replay", "again")
    first = wait_for(api, start(api, "ex.replay", "again", labels={"why": "test"})["id"])
    answer = api.post(f"/executions/{first['id']}/replay")
    assert answer.status_code == 201, answer.text
    replayed = wait_for(api, answer.json()["id"])
    assert replayed["id"] != first["id"]
    assert replayed["state"]["current"] == "SUCCESS"
    assert (replayed["flowRevision"], replayed["inputs"]) == (
        first["flowRevision"],
        first["inputs"],
    )
    assert replayed["labels"]["why"] == "test"


def test_a_long_history_is_followed_in_batches(
    api: Api, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logstream, "BATCH", 3)
    execution = ended("ex.logs", T0)
    lines = [
        LogEntry(execution.id, None, "only", 1, "INFO", f"line {i}", T0, "ex.logs", "browse")
        for i in range(8)
    ]
    with store.unit() as repos:
        repos.executions.create_execution(execution)
        repos.logs.create_logs(lines)
    events = list(read_events(api, f"/executions/{execution.id}/logs/follow"))
    logged = [json.loads(data)["message"] for name, data, _ in events if name == "log"]
    assert logged == [f"line {i}" for i in range(8)]
    assert [name for name, _, _ in events][-1] == "end"
    assert [name for name, _, _ in events].count("end") == 1


def test_the_last_run_of_each_flow(store: Store, executions: list[Execution]) -> None:
    other = ended("ex.browse2", T0 - timedelta(days=1))
    with store.unit() as repos:
        repos.executions.create_execution(other)
    with store.unit(read_only=True) as repos:
        found = repos.executions.list_last_runs(
            [("ex.browse", "browse"), ("ex.browse2", "browse"), ("ex.none", "browse")]
        )
    assert {key: run.execution_id for key, run in found.items()} == {
        ("ex.browse", "browse"): executions[0].id,
        ("ex.browse2", "browse"): other.id,
    }
    assert found[("ex.browse", "browse")].started == executions[0].started
