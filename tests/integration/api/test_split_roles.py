"""``weir server api``, ``executor`` and ``worker`` apart, on one PostgreSQL: the API records
commands (start, kill, resume), an executor takes them and queues tasks, a worker runs them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from controlplane.api import ApiSettings
from controlplane.api.runtime import open_executor, open_worker
from controlplane.store import StoreSettings
from tests.integration.api.conftest import Api, serve
from tests.waiting import TERMINAL_NAMES, ended_json

FLOWS = {
    "quick": "tasks:\n  - id: hi\n    type: io.kestra.plugin.core.debug.Return\n    format: hi\n",
    "slow": "tasks:\n  - id: nap\n    type: io.kestra.plugin.core.flow.Sleep\n    duration: PT5M\n",
    "broken": "tasks:\n  - id: fail\n    type: io.kestra.plugin.core.execution.Fail\n",
    "gate": (
        "tasks:\n  - id: wait\n    type: io.kestra.plugin.core.flow.Pause\n"
        "    onResume:\n      - id: who\n        type: STRING\n"
        "  - id: after\n    type: io.kestra.plugin.core.debug.Return\n"
        '    format: "{{ outputs.wait.onResume.who }}"\n'
    ),
}


@pytest.fixture
def split(postgres_url: str, tmp_path: Path) -> Iterator[Api]:
    store = StoreSettings(home=tmp_path, database_url=postgres_url, secret_key=os.urandom(32))
    api_server = serve(ApiSettings(store=store, role="api"))
    try:
        parts = ApiSettings(store=store, worker_threads=2, grace_seconds=1)
        lease = timedelta(seconds=5)
        with open_executor(parts, lease), open_worker(parts, lease), Api(api_server.url) as api:
            for flow_id, tasks in FLOWS.items():
                source = f"id: {flow_id}\nnamespace: split\n{tasks}"
                assert api.put(
                    f"/flows/split/{flow_id}",
                    data=source,
                    headers={"Content-Type": "application/x-yaml"},
                ).ok
            yield api
    finally:
        api_server.stop()


def until(api: Api, execution_id: str, *states: str) -> dict[str, Any]:
    """The execution once in one of ``states``; fails at once should it end in another."""
    execution: dict[str, Any] = ended_json(
        lambda: api.get(f"/executions/{execution_id}").json(),
        lambda e: e["state"]["current"] in states or e["state"]["current"] in TERMINAL_NAMES,
    )
    assert execution["state"]["current"] in states, execution["state"]
    return execution


def start(api: Api, flow_id: str) -> str:
    created = api.post(f"/executions/split/{flow_id}", json={})
    assert created.status_code == 201, created.text
    execution_id: str = created.json()["id"]
    return execution_id


def test_an_execution_started_through_the_api_runs_on_the_executor(split: Api) -> None:
    done = until(split, start(split, "quick"), "SUCCESS", "FAILED")
    assert done["state"]["current"] == "SUCCESS"
    assert split.get("/ready").status_code == 200


def test_kill_and_resume_reach_the_executor(split: Api) -> None:
    slow = start(split, "slow")
    until(split, slow, "RUNNING")
    assert split.delete(f"/executions/{slow}/kill").status_code == 202
    assert until(split, slow, "KILLED", "SUCCESS", "FAILED")["state"]["current"] == "KILLED"

    gate = start(split, "gate")
    until(split, gate, "PAUSED")
    assert split.post(f"/executions/{gate}/resume", json={"inputs": {"who": "Ada"}}).ok
    done = until(split, gate, "SUCCESS", "FAILED")
    (after,) = [t for t in done["taskRunList"] if t["taskId"] == "after"]
    assert after["outputs"] == {"value": "Ada"}


def test_a_restart_reaches_an_executor_though_the_ended_execution_had_no_lease(
    split: Api,
) -> None:
    broken = start(split, "broken")
    until(split, broken, "FAILED")
    assert split.post(f"/executions/{broken}/restart").status_code == 202
    execution = ended_json(
        lambda: split.get(f"/executions/{broken}").json(),
        lambda e: e["state"]["current"] == "FAILED" and len(e["taskRunList"][0]["attempts"]) == 2,
        "the restarted execution",
    )
    attempts = execution["taskRunList"][0]["attempts"]
    histories = [h["state"] for h in execution["state"]["histories"]]
    assert histories.count("RESTARTED") == 1 and len(attempts) == 2, execution
