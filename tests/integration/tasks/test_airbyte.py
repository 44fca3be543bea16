"""Airbyte syncs (self-hosted and Cloud) against local doubles of Airbyte's APIs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from controlplane.engine.model import State
from tests.doubles import Reply
from tests.doubles.airbyte import AirbyteCloudDouble, AirbyteDouble
from tests.integration.tasks.conftest import Runner

SYNC = "io.kestra.plugin.airbyte.connections.Sync"
CHECK = "io.kestra.plugin.airbyte.connections.CheckStatus"
CLOUD_SYNC = "io.kestra.plugin.airbyte.cloud.jobs.Sync"
CLOUD_RESET = "io.kestra.plugin.airbyte.cloud.jobs.Reset"
PASSWORD = "s3cr3t-airbyte-pw"


@pytest.fixture
def airbyte() -> Iterator[AirbyteDouble]:
    with AirbyteDouble(password=PASSWORD) as double:
        yield double


@pytest.fixture
def cloud() -> Iterator[AirbyteCloudDouble]:
    with AirbyteCloudDouble(token="cloud-t0ken-value") as double:
        yield double


def _sync(airbyte: AirbyteDouble, **extra: Any) -> dict[str, Any]:
    return {
        "id": "sync",
        "type": SYNC,
        "url": airbyte.url,
        "connectionId": "conn-1",
        "username": "airbyte",
        "password": PASSWORD,
        "pollFrequency": "PT0.05S",
        **extra,
    }


def test_sync_waits_for_the_job_and_copies_each_log_line_once(
    runner: Runner, airbyte: AirbyteDouble
) -> None:
    result = runner.run(_sync(airbyte))
    assert result.state is State.SUCCESS, result.error
    assert result.outputs == {"jobId": 1, "alreadyRunning": False}
    logs = runner.logs(result)
    for line in airbyte.log_lines:
        assert [entry.message for entry in logs].count(line) == 1
    levels = {entry.message: entry.level for entry in logs}
    assert levels[airbyte.log_lines[1]] == "WARN"
    assert levels[airbyte.log_lines[2]] == "INFO"
    assert [r.body for r in airbyte.requests_to("POST", "/api/v1/connections/sync")] == [
        {"connectionId": "conn-1"}
    ]
    assert len(airbyte.requests_to("POST", "/api/v1/jobs/get")) == airbyte.polls + 1
    with runner.store.unit() as repos:
        metrics = repos.metrics.list_metrics(runner.execution_of(result))
    by_name = {(m.name, tuple(sorted(m.tags.items()))): m.value for m in metrics}
    assert by_name[("attempts.count", ())] == 1
    assert by_name[("records.committed", (("stream", "users"),))] == 42


def test_without_wait_the_job_id_is_returned_at_once(
    runner: Runner, airbyte: AirbyteDouble
) -> None:
    result = runner.run(_sync(airbyte, wait=False))
    assert (result.state, result.outputs) == (State.SUCCESS, {"jobId": 1, "alreadyRunning": False})
    assert airbyte.requests_to("POST", "/api/v1/jobs/get") == []


def test_a_failed_job_fails_with_airbytes_failure_message(
    runner: Runner, airbyte: AirbyteDouble
) -> None:
    airbyte.outcomes = ["failed"]
    result = runner.run(_sync(airbyte))
    assert result.state is State.FAILED
    assert result.error == (
        "Airbyte job 1 ended with status 'failed' after 1 attempt(s): source: "
        "Something went wrong in the connector. See the logs for more details."
    )
    assert result.outputs == {"jobId": 1, "alreadyRunning": False}


def test_a_job_that_never_ends_fails_at_max_duration(
    runner: Runner, airbyte: AirbyteDouble
) -> None:
    airbyte.never_finish = True
    result = runner.run(_sync(airbyte, maxDuration="PT0.3S"))
    assert result.state is State.FAILED
    assert result.error == "Airbyte job 1 did not finish within PT0.3S"
    assert "Airbyte job 1 keeps running in Airbyte: it was not cancelled" in runner.messages(result)
    assert result.outputs == {"jobId": 1, "alreadyRunning": False}


def test_transient_errors_while_polling_are_retried(runner: Runner, airbyte: AirbyteDouble) -> None:
    airbyte.poll_faults = [
        Reply(503, {"message": "Service Unavailable"}),
        Reply(429, {"message": "Too Many Requests"}, {"Retry-After": "1"}),
        Reply(502, b"<html>Bad Gateway</html>"),
    ]
    result = runner.run(_sync(airbyte))
    assert result.state is State.SUCCESS, result.error
    assert airbyte.poll_faults == []
    messages = runner.messages(result)
    assert "Airbyte answered 503 on POST /api/v1/jobs/get; retrying in 0.05s" in messages
    assert "Airbyte answered 429 on POST /api/v1/jobs/get; retrying in 1s" in messages


def test_a_trigger_refused_with_503_is_sent_again(runner: Runner, airbyte: AirbyteDouble) -> None:
    airbyte.trigger_faults = [Reply(503, {"message": "Service Unavailable"})]
    result = runner.run(_sync(airbyte, wait=False))
    assert result.state is State.SUCCESS, result.error
    assert len(airbyte.requests_to("POST", "/api/v1/connections/sync")) == 2
    assert len(airbyte.jobs) == 1


def test_a_trigger_that_times_out_is_not_sent_again(runner: Runner, airbyte: AirbyteDouble) -> None:
    airbyte.latency = 0.5
    result = runner.run(_sync(airbyte, httpTimeout="PT0.2S", wait=False))
    assert result.state is State.FAILED
    error = str(result.error)
    assert error.startswith("Airbyte request POST /api/v1/connections/sync failed: ")
    assert "Read timed out" in error
    assert error.endswith("(gave up after 1 call(s))")
    assert len(airbyte.requests_to("POST", "/api/v1/connections/sync")) == 1


def test_a_bad_password_fails_clearly_without_showing_it(
    runner: Runner, airbyte: AirbyteDouble
) -> None:
    result = runner.run(_sync(airbyte, password="wrong-pa55word"))
    assert result.state is State.FAILED
    assert result.error == "Airbyte API error 401 on POST /api/v1/connections/sync: Unauthorized"
    assert not any("wrong-pa55word" in m for m in runner.messages(result))


def test_an_unknown_connection_fails_with_airbytes_message(
    runner: Runner, airbyte: AirbyteDouble
) -> None:
    result = runner.run(_sync(airbyte, connectionId="nope"))
    assert result.state is State.FAILED
    assert result.error == (
        "Airbyte API error 404 on POST /api/v1/connections/sync: "
        "Could not find configuration for STANDARD_SYNC: nope."
    )


def test_an_active_sync_fails_unless_told_otherwise(runner: Runner, airbyte: AirbyteDouble) -> None:
    airbyte.busy.add("conn-1")
    failed = runner.run(_sync(airbyte))
    assert failed.state is State.FAILED
    assert "a sync is already running (A sync is already running for: conn-1)" in str(failed.error)
    assert "failOnActiveSync: false" in str(failed.error)
    tolerated = runner.run(_sync(airbyte, failOnActiveSync=False))
    assert tolerated.state is State.SUCCESS
    assert tolerated.outputs == {"jobId": None, "alreadyRunning": True}


def test_a_bearer_token_and_application_credentials_authenticate(runner: Runner) -> None:
    with AirbyteDouble(
        username=None, password=None, token="bearer-t0ken", clients={"app": "cs-1"}
    ) as double:
        base = {"id": "s", "type": SYNC, "url": double.url, "connectionId": "conn-1", "wait": False}
        assert runner.run({**base, "token": "bearer-t0ken"}).state is State.SUCCESS
        result = runner.run(
            {**base, "applicationCredentials": {"clientId": "app", "clientSecret": "cs-1"}}
        )
        assert result.state is State.SUCCESS, result.error
        assert double.issued == {"app-token-1"}
        refused = runner.run(
            {**base, "applicationCredentials": {"clientId": "app", "clientSecret": "wr0ng-cs"}}
        )
        assert refused.error == (
            "Airbyte API error 401 on POST /api/v1/applications/token: Invalid client credentials"
        )
        assert not any("wr0ng-cs" in m for m in runner.messages(refused))


def test_check_status_waits_for_an_existing_job(runner: Runner, airbyte: AirbyteDouble) -> None:
    started = runner.run(_sync(airbyte, wait=False))
    result = runner.run(
        {
            "id": "check",
            "type": CHECK,
            "url": airbyte.url,
            "jobId": str(started.outputs["jobId"]),
            "username": "airbyte",
            "password": PASSWORD,
            "pollFrequency": "PT0.05S",
        }
    )
    assert (result.state, result.outputs) == (State.SUCCESS, {"finalJobStatus": "succeeded"})


def _cloud(cloud: AirbyteCloudDouble, **extra: Any) -> dict[str, Any]:
    return {
        "id": "cloud",
        "type": CLOUD_SYNC,
        "url": cloud.api,
        "connectionId": "conn-1",
        "token": "cloud-t0ken-value",
        "pollFrequency": "PT0.05S",
        **extra,
    }


def test_cloud_sync_outputs_the_ended_job(runner: Runner, cloud: AirbyteCloudDouble) -> None:
    result = runner.run(_cloud(cloud))
    assert result.state is State.SUCCESS, result.error
    job = result.outputs["job"]
    assert {k: job[k] for k in ("jobId", "jobType", "status", "duration", "rowsSynced")} == {
        "jobId": 1000,
        "jobType": "sync",
        "status": "succeeded",
        "duration": "PT1M30S",
        "rowsSynced": 7,
    }
    assert cloud.requests_to("POST", "/v1/jobs")[0].body == {
        "connectionId": "conn-1",
        "jobType": "sync",
    }
    assert "Airbyte Cloud job 1000 is running" in runner.messages(result)


def test_cloud_reset_sends_its_job_type(runner: Runner, cloud: AirbyteCloudDouble) -> None:
    result = runner.run(_cloud(cloud, type=CLOUD_RESET, wait=False))
    assert result.state is State.SUCCESS, result.error
    assert result.outputs["job"]["jobType"] == "reset"


def test_cloud_failed_job_fails_the_task(runner: Runner, cloud: AirbyteCloudDouble) -> None:
    cloud.outcomes = ["failed"]
    result = runner.run(_cloud(cloud))
    assert (result.state, result.error) == (
        State.FAILED,
        "Airbyte Cloud job 1000 ended with status 'failed'",
    )
    assert result.outputs["job"]["status"] == "failed"


def test_cloud_bad_token_fails_with_the_problem_detail(
    runner: Runner, cloud: AirbyteCloudDouble
) -> None:
    result = runner.run(_cloud(cloud, token="not-the-t0ken"))
    assert result.error == (
        "Airbyte Cloud API error 401 on POST /v1/jobs: The request is missing a valid bearer token."
    )
    assert not any("not-the-t0ken" in m for m in runner.messages(result))


def test_cloud_client_credentials_get_a_token_first(runner: Runner) -> None:
    with AirbyteCloudDouble(clients={"client": "cl1ent-secret"}) as double:
        result = runner.run(
            {
                "id": "cloud",
                "type": CLOUD_SYNC,
                "url": double.api,
                "tokenURL": f"{double.url}/v1/applications/token",
                "connectionId": "conn-1",
                "clientId": "client",
                "clientSecret": "cl1ent-secret",
                "wait": False,
            }
        )
    assert result.state is State.SUCCESS, result.error


def test_cloud_without_credentials_says_which_to_give(runner: Runner) -> None:
    result = runner.run(
        {"id": "c", "type": CLOUD_SYNC, "url": "http://127.0.0.1:9", "connectionId": "x"}
    )
    assert result.error == (
        "Airbyte Cloud needs credentials: set 'token', or 'clientId' and 'clientSecret', "
        "or 'username' and 'password'"
    )
