"""Fivetran connector sync against a local double of Fivetran's REST API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from controlplane.engine.model import State
from tests.doubles import Reply
from tests.doubles.fivetran import PREVIOUS_SYNC, FivetranDouble
from tests.integration.tasks.conftest import Runner

SYNC = "io.kestra.plugin.fivetran.connectors.Sync"
SECRET = "fivetran-api-s3cret"


@pytest.fixture
def fivetran() -> Iterator[FivetranDouble]:
    with FivetranDouble(secret=SECRET) as double:
        yield double


def _sync(fivetran: FivetranDouble, **extra: Any) -> dict[str, Any]:
    return {
        "id": "sync",
        "type": SYNC,
        "baseUrl": fivetran.url,
        "apiKey": "api-key",
        "apiSecret": SECRET,
        "connectorId": "c1",
        "pollFrequency": "PT0.05S",
        "initialRetryDelay": "PT0.05S",
        **extra,
    }


def test_sync_waits_until_the_connector_reports_a_newer_success(
    runner: Runner, fivetran: FivetranDouble
) -> None:
    result = runner.run(_sync(fivetran, force=True))
    assert result.state is State.SUCCESS, result.error
    assert result.outputs == {}
    assert [r.body for r in fivetran.requests_to("POST", "/v1/connectors/c1/sync")] == [
        {"force": True}
    ]
    assert fivetran.connectors["c1"].succeeded_at != PREVIOUS_SYNC
    # one read before the trigger, then reads until the sync ends
    assert len(fivetran.requests_to("GET", "/v1/connectors/c1")) == fivetran.polls + 2
    messages = runner.messages(result)
    assert "Fivetran: Sync has been successfully triggered for connector with id 'c1'" in messages
    assert "Fivetran connector c1 is syncing" in messages
    assert "Fivetran connector c1 is scheduled" in messages


def test_without_wait_the_task_ends_after_the_trigger(
    runner: Runner, fivetran: FivetranDouble
) -> None:
    result = runner.run(_sync(fivetran, wait=False))
    assert result.state is State.SUCCESS
    assert len(fivetran.requests_to("GET", "/v1/connectors/c1")) == 1
    assert fivetran.connectors["c1"].syncing


def test_a_failed_sync_fails_with_the_connectors_alert(
    runner: Runner, fivetran: FivetranDouble
) -> None:
    fivetran.outcomes = ["failed"]
    result = runner.run(_sync(fivetran))
    assert result.state is State.FAILED
    failed_at = fivetran.connectors["c1"].failed_at
    assert result.error == (
        f"Fivetran connector c1 sync failed at {failed_at}: "
        "sync_failed: Unable to connect to the source database"
    )


def test_an_old_failure_before_a_new_success_is_a_success(
    runner: Runner, fivetran: FivetranDouble
) -> None:
    fivetran.connectors["c1"].failed_at = "2024-05-01T09:00:00.000Z"
    result = runner.run(_sync(fivetran))
    assert result.state is State.SUCCESS, result.error


def test_a_sync_that_never_ends_fails_at_max_duration(
    runner: Runner, fivetran: FivetranDouble
) -> None:
    fivetran.never_finish = True
    result = runner.run(_sync(fivetran, maxDuration="PT0.3S"))
    assert (result.state, result.error) == (
        State.FAILED,
        "Fivetran connector c1 did not finish within PT0.3S",
    )
    assert "The sync of connector c1 keeps running in Fivetran" in runner.messages(result)


def test_transient_errors_while_polling_are_retried(
    runner: Runner, fivetran: FivetranDouble
) -> None:
    fivetran.poll_faults = [
        Reply(429, {"code": "TooManyRequests", "message": "Rate limit"}, {"Retry-After": "1"}),
        Reply(503, {"code": "ServiceUnavailable", "message": "Try again"}),
    ]
    result = runner.run(_sync(fivetran))
    assert result.state is State.SUCCESS, result.error
    assert fivetran.poll_faults == []
    assert "Fivetran answered 429 on GET /v1/connectors/c1; retrying in 1s" in runner.messages(
        result
    )


def test_transient_errors_beyond_max_attempts_fail(
    runner: Runner, fivetran: FivetranDouble
) -> None:
    fivetran.poll_faults = [Reply(503, {"code": "ServiceUnavailable", "message": "x"})] * 3
    result = runner.run(_sync(fivetran, maxAttempts=2))
    assert result.state is State.FAILED
    assert result.error == (
        "Fivetran answered 503 on GET /v1/connectors/c1 (gave up after 2 call(s))"
    )


def test_a_bad_secret_fails_clearly_without_showing_it(
    runner: Runner, fivetran: FivetranDouble
) -> None:
    result = runner.run(_sync(fivetran, apiSecret="not-the-s3cret"))
    assert result.error == (
        "Fivetran API error 401 on GET /v1/connectors/c1: AuthFailed: Invalid API key or secret"
    )
    assert not any("not-the-s3cret" in m for m in runner.messages(result))


def test_an_unknown_connector_fails_with_fivetrans_message(
    runner: Runner, fivetran: FivetranDouble
) -> None:
    result = runner.run(_sync(fivetran, connectorId="missing"))
    assert result.error == (
        "Fivetran API error 404 on GET /v1/connectors/missing: "
        "NotFound_Connector: Connector with id 'missing' doesn't exist"
    )


def test_a_zero_poll_frequency_is_refused_before_any_request(
    runner: Runner, fivetran: FivetranDouble
) -> None:
    result = runner.run(_sync(fivetran, pollFrequency="PT0S"))
    assert result.error == "'pollFrequency' must be a positive duration, got PT0S"
    assert fivetran.received == []


def test_a_secret_given_through_secret_function_is_masked(
    runner: Runner, fivetran: FivetranDouble
) -> None:
    fivetran.secret = "correct-s3cret"
    runner.put_secret("company.team", "FIVETRAN_SECRET", "correct-s3cret")
    fivetran.outcomes = ["failed"]
    fivetran.failure = {"code": "x", "message": "bad credentials correct-s3cret for source"}
    result = runner.run(_sync(fivetran, apiSecret="{{ secret('FIVETRAN_SECRET') }}"))
    assert result.state is State.FAILED
    assert "correct-s3cret" not in str(result.error)
    assert "bad credentials ******** for source" in str(result.error)
