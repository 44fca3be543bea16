"""Whole flows with remote-job tasks, run by the real engine against the SaaS doubles.

Each flow's task has a Kestra ``retry:`` policy; its double fails the first job and lets the
second succeed, so the execution ends SUCCESS after two attempts. Credentials come from secrets,
and none appears in the execution's logs. A kill of the execution stops a task that is polling,
and the corpus flows that use these types raise no problem in their tasks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from controlplane.engine.engine import Engine
from controlplane.engine.model import State
from controlplane.spec.validate import validate_file
from controlplane.store import SqlStore
from tests.conftest import EngineFactory
from tests.doubles import ServiceDouble
from tests.doubles.airbyte import AirbyteDouble
from tests.doubles.dbt_cloud import DbtCloudDouble
from tests.doubles.fivetran import FivetranDouble
from tests.doubles.hightouch import HightouchDouble
from tests.waiting import ended, wait_until

NS = "company.team"
SECRET = "flow-s3cret-value"
RETRY = """
    retry:
      type: constant
      interval: PT0.1S
      maxAttempts: 3"""


@dataclass(frozen=True)
class Case:
    double: Callable[[], ServiceDouble]
    failure: str
    task: str
    """The task's YAML (indented under ``tasks:``), with ``{url}`` for the double's address."""
    triggers: tuple[str, str]
    """Method and path of the request that starts a job."""


CASES = {
    "airbyte": Case(
        lambda: AirbyteDouble(password=SECRET),
        "failed",
        """
  - id: sync
    type: io.kestra.plugin.airbyte.connections.Sync
    url: "{url}"
    connectionId: conn-1
    username: airbyte
    password: "{{{{ secret('API_SECRET') }}}}"
    pollFrequency: PT0.05S""",
        ("POST", "/api/v1/connections/sync"),
    ),
    "fivetran": Case(
        lambda: FivetranDouble(secret=SECRET),
        "failed",
        """
  - id: sync
    type: io.kestra.plugin.fivetran.connectors.Sync
    baseUrl: "{url}"
    apiKey: api-key
    apiSecret: "{{{{ secret('API_SECRET') }}}}"
    connectorId: c1
    pollFrequency: PT0.05S""",
        ("POST", "/v1/connectors/c1/sync"),
    ),
    "hightouch": Case(
        lambda: HightouchDouble(token=SECRET),
        "failed",
        """
  - id: sync
    type: io.kestra.plugin.hightouch.Sync
    url: "{url}"
    token: "{{{{ secret('API_SECRET') }}}}"
    syncId: 42
    pollFrequency: PT0.05S""",
        ("POST", "/api/v1/syncs/42/trigger"),
    ),
    "dbt_cloud": Case(
        lambda: DbtCloudDouble(token=SECRET),
        "Error",
        """
  - id: sync
    type: io.kestra.plugin.dbt.cloud.TriggerRun
    baseUrl: "{url}"
    accountId: "1"
    token: "{{{{ secret('API_SECRET') }}}}"
    jobId: "396284"
    pollFrequency: PT0.05S""",
        ("POST", "/api/v2/accounts/1/jobs/396284/run/"),
    ),
}


@pytest.fixture(scope="module")
def engine(
    tmp_path_factory: pytest.TempPathFactory, engine_factory: EngineFactory
) -> Iterator[tuple[SqlStore, Engine]]:
    home = tmp_path_factory.mktemp("syncs")
    with engine_factory.running(home) as (store, running):
        with store.unit() as repos:
            repos.secrets.update_secret(NS, "API_SECRET", SECRET)
        yield store, running


def _save(store: SqlStore, flow_id: str, tasks: str) -> None:
    source = f"id: {flow_id}\nnamespace: {NS}\ntasks:{tasks}\n"
    with store.unit() as repos:
        repos.flows.create_flow_revision(NS, flow_id, source, None)


def _messages(store: SqlStore, execution_id: str) -> list[str]:
    with store.unit() as repos:
        return [entry.message for _, entry in repos.logs.list_logs(execution_id)]


@pytest.mark.parametrize("service", sorted(CASES))
def test_a_failed_job_is_retried_by_the_flows_retry_policy(
    engine: tuple[SqlStore, Engine], service: str
) -> None:
    store, running = engine
    case = CASES[service]
    with case.double() as double:
        double.outcomes = [case.failure, double.outcomes[0]]
        _save(store, f"retry_{service}", case.task.format(url=double.url) + RETRY)
        execution = running.create_execution(NS, f"retry_{service}")
        final = ended(running, execution.id)
        assert final.state is State.SUCCESS
        (run,) = final.task_runs
        assert [attempt.state for attempt in run.attempts] == [State.FAILED, State.SUCCESS]
        assert len(double.requests_to(*case.triggers)) == 2
    messages = _messages(store, execution.id)
    assert any("ended with status" in m or "failed at" in m for m in messages)
    assert not any(SECRET in m for m in messages)


def test_killing_the_execution_stops_polling_at_once(engine: tuple[SqlStore, Engine]) -> None:
    store, running = engine
    with AirbyteDouble(password=SECRET) as double:
        double.never_finish = True
        _save(store, "kill_airbyte", CASES["airbyte"].task.format(url=double.url))
        execution = running.create_execution(NS, "kill_airbyte")
        wait_until(
            lambda: double.requests_to("POST", "/api/v1/jobs/get"),
            what="the task polling the job",
            progress=lambda: len(double.received),
        )
        running.kill(execution.id)
        final = ended(running, execution.id)
        assert final.state is State.KILLED
        assert [r.state for r in final.task_runs] == [State.KILLED]
        polls = len(double.requests_to("POST", "/api/v1/jobs/get"))
        time.sleep(0.3)  # six poll intervals: a task still polling would be seen
        assert len(double.requests_to("POST", "/api/v1/jobs/get")) == polls


TYPES = (
    "io.kestra.plugin.airbyte.",
    "io.kestra.plugin.fivetran.",
    "io.kestra.plugin.hightouch.",
    "io.kestra.plugin.dbt.cloud.",
)


def _in_remote_task(data: Any, path: tuple[str | int, ...]) -> bool:
    """Whether a YAML path goes through a task of one of TYPES."""
    node = data
    for key in path:
        if isinstance(node, dict) and str(node.get("type", "")).startswith(TYPES):
            return True
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(node, dict) and str(node.get("type", "")).startswith(TYPES)


def test_corpus_flows_raise_no_problem_in_these_tasks(corpus: Path) -> None:
    paths = [
        path
        for path in sorted(corpus.glob("*.yaml"))
        if any(t in path.read_text(encoding="utf-8") for t in TYPES)
    ]
    assert len(paths) >= 4
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        problems = validate_file(path).problems
        assert [str(p) for p in problems if _in_remote_task(data, p.location.path)] == []
