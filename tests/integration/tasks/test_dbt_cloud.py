"""dbt Cloud TriggerRun and CheckStatus against a local double of the dbt Cloud API v2."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from controlplane.engine.model import State
from tests.doubles import Reply
from tests.doubles.dbt_cloud import BUILD_LOG, CLONE_LOG, MANIFEST, RUN_RESULTS, DbtCloudDouble
from tests.integration.tasks.conftest import Runner

TRIGGER = "io.kestra.plugin.dbt.cloud.TriggerRun"
CHECK = "io.kestra.plugin.dbt.cloud.CheckStatus"
TOKEN = "dbtc-t0ken-value"


@pytest.fixture
def dbt_cloud() -> Iterator[DbtCloudDouble]:
    with DbtCloudDouble(token=TOKEN) as double:
        yield double


def _trigger(dbt_cloud: DbtCloudDouble, **extra: Any) -> dict[str, Any]:
    return {
        "id": "dbt",
        "type": TRIGGER,
        "baseUrl": dbt_cloud.url,
        "accountId": 1,
        "token": TOKEN,
        "jobId": "396284",
        "pollFrequency": "PT0.05S",
        "initialDelayMs": 50,
        **extra,
    }


def test_trigger_run_streams_step_logs_and_stores_the_artifacts(
    runner: Runner, dbt_cloud: DbtCloudDouble
) -> None:
    result = runner.run(_trigger(dbt_cloud))
    assert result.state is State.SUCCESS, result.error
    assert result.outputs["runId"] == 70000
    for output, expected in (("runResults", RUN_RESULTS), ("manifest", MANIFEST)):
        with runner.store.files.open(result.outputs[output]) as stream:
            assert json.loads(stream.read()) == expected
    messages = runner.messages(result)
    expected_lines = [
        *(f"[Step Clone git repository]: {line}" for line in CLONE_LOG.splitlines()),
        *(f"[Step Invoke dbt with `dbt build`]: {line}" for line in BUILD_LOG.splitlines()),
    ]
    assert [m for m in messages if m.startswith("[Step ")] == expected_lines
    assert "model.jaffle_shop.orders => success in 1.25s, 99 rows affected: SELECT 99" in messages
    assert "test.jaffle_shop.not_null_orders_id => pass in 0.50s" in messages
    with runner.store.unit() as repos:
        metrics = {m.name: m.value for m in repos.metrics.list_metrics(runner.execution_of(result))}
    assert metrics["rows.affected"] == 99


def test_trigger_sends_the_cause_and_overrides(runner: Runner, dbt_cloud: DbtCloudDouble) -> None:
    result = runner.run(
        _trigger(
            dbt_cloud,
            wait=False,
            gitBranch="feature",
            threadsOverride="8",
            generateDocsOverride=True,
            timeoutSecondsOverride=600,
            stepsOverride=["dbt seed", "dbt run"],
        )
    )
    assert (result.state, result.outputs) == (State.SUCCESS, {"runId": 70000})
    (sent,) = dbt_cloud.requests_to("POST", "/api/v2/accounts/1/jobs/396284/run/")
    assert sent.body == {
        "cause": "Triggered by Kestra.",
        "git_branch": "feature",
        "threads_override": 8,
        "generate_docs_override": True,
        "timeout_seconds_override": 600,
        "steps_override": ["dbt seed", "dbt run"],
    }
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"


def test_a_failed_run_fails_with_its_status_message(
    runner: Runner, dbt_cloud: DbtCloudDouble
) -> None:
    dbt_cloud.outcomes = ["Error"]
    result = runner.run(_trigger(dbt_cloud))
    assert result.state is State.FAILED
    assert result.error == (
        "dbt Cloud run 70000 ended with status 'Error' after 2 minutes, 3 seconds: "
        "Database Error in model orders: relation does not exist"
    )
    assert result.outputs == {"runId": 70000}


def test_a_missing_artifact_is_skipped(runner: Runner, dbt_cloud: DbtCloudDouble) -> None:
    dbt_cloud.missing_artifacts = {"manifest.json"}
    result = runner.run(_trigger(dbt_cloud, parseRunResults=False))
    assert result.state is State.SUCCESS, result.error
    assert result.outputs["manifest"] is None
    assert str(result.outputs["runResults"]).startswith("kestra:///")
    assert not any("=> success" in m for m in runner.messages(result))


def test_a_run_that_never_ends_fails_at_max_duration(
    runner: Runner, dbt_cloud: DbtCloudDouble
) -> None:
    dbt_cloud.never_finish = True
    result = runner.run(_trigger(dbt_cloud, maxDuration="PT0.3S"))
    assert (result.state, result.error) == (
        State.FAILED,
        "dbt Cloud run 70000 did not finish within PT0.3S",
    )
    assert result.outputs == {"runId": 70000}


def test_transient_errors_while_polling_are_retried(
    runner: Runner, dbt_cloud: DbtCloudDouble
) -> None:
    dbt_cloud.poll_faults = [Reply(503, None), Reply(502, b"Bad Gateway")]
    result = runner.run(_trigger(dbt_cloud))
    assert result.state is State.SUCCESS, result.error
    assert dbt_cloud.poll_faults == []


def test_a_bad_token_fails_clearly_without_showing_it(
    runner: Runner, dbt_cloud: DbtCloudDouble
) -> None:
    result = runner.run(_trigger(dbt_cloud, token="n0t-the-token"))
    assert result.error == (
        "dbt Cloud API error 401 on POST /api/v2/accounts/1/jobs/396284/run/: Invalid token."
    )
    assert not any("n0t-the-token" in m for m in runner.messages(result))


def test_an_unknown_job_fails_with_dbt_clouds_message(
    runner: Runner, dbt_cloud: DbtCloudDouble
) -> None:
    result = runner.run(_trigger(dbt_cloud, jobId="5"))
    assert result.error == (
        "dbt Cloud API error 404 on POST /api/v2/accounts/1/jobs/5/run/: "
        "The requested resource was not found."
    )


def test_check_status_waits_for_an_existing_run(runner: Runner, dbt_cloud: DbtCloudDouble) -> None:
    started = runner.run(_trigger(dbt_cloud, wait=False))
    result = runner.run(
        {
            "id": "check",
            "type": CHECK,
            "baseUrl": dbt_cloud.url,
            "accountId": "1",
            "token": TOKEN,
            "runId": str(started.outputs["runId"]),
            "pollFrequency": "PT0.05S",
        }
    )
    assert result.state is State.SUCCESS, result.error
    assert set(result.outputs) == {"runResults", "manifest"}
