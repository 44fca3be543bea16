"""Hightouch sync run against a local double of Hightouch's REST API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from controlplane.engine.model import State
from tests.doubles import Reply
from tests.doubles.hightouch import HightouchDouble
from tests.integration.tasks.conftest import Runner

SYNC = "io.kestra.plugin.hightouch.Sync"
TOKEN = "ht-t0ken-value"


@pytest.fixture
def hightouch() -> Iterator[HightouchDouble]:
    with HightouchDouble(token=TOKEN) as double:
        yield double


def _sync(hightouch: HightouchDouble, **extra: Any) -> dict[str, Any]:
    return {
        "id": "sync",
        "type": SYNC,
        "url": hightouch.url,
        "token": TOKEN,
        "syncId": 42,
        "pollFrequency": "PT0.05S",
        **extra,
    }


def test_sync_waits_for_the_run_and_outputs_its_metadata(
    runner: Runner, hightouch: HightouchDouble
) -> None:
    hightouch.unlisted_reads = 1
    result = runner.run(_sync(hightouch, fullResynchronization=True))
    assert result.state is State.SUCCESS, result.error
    assert result.outputs["runId"] == 7000
    metadata = result.outputs["metadata"]
    assert (metadata["status"], metadata["successfulRows"]["addedCount"]) == ("success", 10)
    assert hightouch.requests_to("POST", "/api/v1/syncs/42/trigger")[0].body == {"fullResync": True}
    assert hightouch.requests_to("GET", "/api/v1/syncs/42/runs")[0].query == {"runId": ["7000"]}
    messages = runner.messages(result)
    assert "[syncId=42] crm-contacts: run 7000 triggered" in messages
    for status in ("queued", "querying", "success"):
        assert messages.count(f"[syncId=42] crm-contacts: [runId=7000] is now {status}") == 1
    with runner.store.unit() as repos:
        metrics = {m.name: m.value for m in repos.metrics.list_metrics(runner.execution_of(result))}
    assert (metrics["rows.successfully.added"], metrics["rows.failed.added"]) == (10, 0)


def test_the_sync_id_may_come_from_an_expression(
    runner: Runner, hightouch: HightouchDouble
) -> None:
    result = runner.run(
        _sync(hightouch, syncId="{{ inputs.sync }}", wait=False), inputs={"sync": 42}
    )
    assert (result.state, result.outputs) == (State.SUCCESS, {"runId": 7000})


def test_a_failed_run_fails_with_its_error(runner: Runner, hightouch: HightouchDouble) -> None:
    hightouch.outcomes = ["failed"]
    result = runner.run(_sync(hightouch))
    assert result.state is State.FAILED
    assert str(result.error).startswith(
        "Hightouch sync run 7000 ended with status 'failed' after PT"
    )
    assert str(result.error).endswith(": Destination rejected 3 rows: invalid email")
    assert result.outputs["runId"] == 7000


def test_a_run_with_warnings_succeeds_and_says_so(
    runner: Runner, hightouch: HightouchDouble
) -> None:
    hightouch.outcomes = ["warning"]
    result = runner.run(_sync(hightouch))
    assert result.state is State.SUCCESS
    warnings = [e.message for e in runner.logs(result) if e.level == "WARN"]
    assert any(m.startswith("Run 7000 completed with errors") for m in warnings)


def test_a_run_that_never_ends_fails_at_max_duration(
    runner: Runner, hightouch: HightouchDouble
) -> None:
    hightouch.never_finish = True
    result = runner.run(_sync(hightouch, maxDuration="PT0.3S"))
    assert (result.state, result.error) == (
        State.FAILED,
        "Hightouch sync run 7000 did not finish within PT0.3S",
    )
    assert result.outputs == {"runId": 7000}


def test_transient_errors_while_polling_are_retried(
    runner: Runner, hightouch: HightouchDouble
) -> None:
    hightouch.poll_faults = [Reply(503, {"message": "unavailable"}), Reply(504, None)]
    result = runner.run(_sync(hightouch))
    assert result.state is State.SUCCESS, result.error
    assert hightouch.poll_faults == []


def test_a_retry_after_past_max_duration_ends_the_wait(
    runner: Runner, hightouch: HightouchDouble
) -> None:
    hightouch.poll_faults = [Reply(429, {"message": "slow down"}, {"Retry-After": "30"})]
    result = runner.run(_sync(hightouch, maxDuration="PT1S"))
    assert result.error == (
        "Hightouch sync run 7000 did not finish within PT1S "
        "(Hightouch answered 429 on GET /api/v1/syncs/42/runs)"
    )


def test_a_trigger_answered_504_is_not_sent_twice(
    runner: Runner, hightouch: HightouchDouble
) -> None:
    hightouch.trigger_faults = [Reply(504, None)]
    result = runner.run(_sync(hightouch))
    assert result.state is State.FAILED
    assert result.error == (
        "Hightouch answered 504 on POST /api/v1/syncs/42/trigger (gave up after 1 call(s))"
    )
    assert len(hightouch.requests_to("POST", "/api/v1/syncs/42/trigger")) == 1


def test_a_bad_token_fails_clearly_without_showing_it(
    runner: Runner, hightouch: HightouchDouble
) -> None:
    result = runner.run(_sync(hightouch, token="wr0ng-token"))
    assert result.error == "Hightouch API error 401 on GET /api/v1/syncs/42: Invalid API key"
    assert not any("wr0ng-token" in m for m in runner.messages(result))


def test_an_unknown_sync_fails_with_hightouchs_message(
    runner: Runner, hightouch: HightouchDouble
) -> None:
    result = runner.run(_sync(hightouch, syncId=9))
    assert result.error == "Hightouch API error 404 on GET /api/v1/syncs/9: Sync 9 not found"


def test_a_validation_error_shows_hightouchs_details(
    runner: Runner, hightouch: HightouchDouble
) -> None:
    hightouch.trigger_faults = [
        Reply(422, {"message": "Validation Failed", "details": {"fullResync": "invalid"}})
    ]
    result = runner.run(_sync(hightouch))
    assert result.error == (
        "Hightouch API error 422 on POST /api/v1/syncs/42/trigger: "
        'Validation Failed: {"fullResync": "invalid"}'
    )


def test_a_sync_id_that_is_not_a_number_is_refused(
    runner: Runner, hightouch: HightouchDouble
) -> None:
    result = runner.run(_sync(hightouch, syncId="{{ 'abc' }}"))
    assert result.error == "'syncId' must be a whole number, got 'abc'"
