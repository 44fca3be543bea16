"""The one HTTP retry policy (controlplane.retrying), without a server and without sleeping."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

import pytest
import requests

from controlplane.retrying import (
    GaveUp,
    Retry,
    RetryPolicy,
    call_with_retries,
    never_sent,
    retry_after,
)


class Calls:
    """A call that asks for a retry ``failures`` times, then returns ``"ok"``; records waits."""

    def __init__(self, failures: int, asked: float | None = None) -> None:
        self.failures = failures
        self.asked = asked
        self.numbers: list[int] = []
        self.slept: list[float] = []
        self.told: list[tuple[str, float, int]] = []

    def __call__(self, number: int) -> str:
        self.numbers.append(number)
        if number <= self.failures:
            raise Retry(f"failure {number}", self.asked, result=f"answer {number}")
        return "ok"

    def run(self, policy: RetryPolicy) -> str:
        return call_with_retries(
            policy,
            self,
            sleep=self.slept.append,
            before_sleep=lambda retry, delay, n: self.told.append((retry.why, delay, n)),
        )


def test_backoff_doubles_up_to_its_bound() -> None:
    policy = RetryPolicy(first_delay=0.5, max_delay=3.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert RetryPolicy(first_delay=1.0, max_delay=None).delay(6) == 32.0


def test_a_retry_after_is_the_wait_within_its_bound() -> None:
    policy = RetryPolicy(first_delay=8.0, max_retry_after=30.0)
    assert policy.delay(1, retry_after=2.0) == 2.0
    assert policy.delay(1, retry_after=0.0) == 0.0
    assert policy.delay(1, retry_after=120.0) == 30.0
    assert RetryPolicy().delay(1, retry_after=120.0) == 120.0


def test_calls_are_retried_after_the_backoff_until_one_succeeds() -> None:
    calls = Calls(failures=2)
    assert calls.run(RetryPolicy(first_delay=0.25, max_attempts=5)) == "ok"
    assert calls.numbers == [1, 2, 3]
    assert calls.slept == [0.25, 0.5]
    assert calls.told == [("failure 1", 0.25, 1), ("failure 2", 0.5, 2)]


def test_the_policy_gives_up_after_its_attempts_with_the_last_retry() -> None:
    calls = Calls(failures=10)
    with pytest.raises(GaveUp) as raised:
        calls.run(RetryPolicy(first_delay=0.1, max_attempts=3))
    assert raised.value.calls == 3
    assert raised.value.last.why == "failure 3"
    assert raised.value.last.result == "answer 3"
    assert calls.slept == [0.1, 0.2]


def test_a_wait_past_the_elapsed_bound_is_not_made() -> None:
    calls = Calls(failures=10, asked=400.0)
    with pytest.raises(GaveUp) as raised:
        calls.run(RetryPolicy(max_elapsed=300.0))
    assert raised.value.calls == 1
    assert calls.slept == []


def test_any_other_error_ends_the_calls_at_once() -> None:
    def broken(number: int) -> str:
        raise ValueError(f"not repeatable ({number})")

    slept: list[float] = []
    with pytest.raises(ValueError, match=r"not repeatable \(1\)"):
        call_with_retries(RetryPolicy(max_attempts=5), broken, sleep=slept.append)
    assert slept == []


def test_a_sleep_that_raises_stops_the_retries() -> None:
    class Cancelled(Exception):
        pass

    def cancelled(_: float) -> None:
        raise Cancelled

    with pytest.raises(Cancelled):
        call_with_retries(RetryPolicy(max_attempts=5), Calls(failures=3), sleep=cancelled)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("3") == 3.0
    assert retry_after(" 1.5 ") == 1.5
    assert retry_after("-4") == 0.0
    assert retry_after(None) is None
    assert retry_after("") is None
    assert retry_after("soon") is None
    past = email.utils.format_datetime(datetime.now(UTC) - timedelta(minutes=5), usegmt=True)
    assert retry_after(past) == 0.0
    future = email.utils.format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    seconds = retry_after(future)
    assert seconds is not None and 3000 < seconds <= 3600


def _raised_from(cause: BaseException) -> requests.ConnectionError:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise requests.ConnectionError("connection failed") from inner
    except requests.ConnectionError as outer:
        return outer


def test_a_request_that_made_no_connection_was_never_sent() -> None:
    assert never_sent(_raised_from(ConnectionRefusedError()))
    assert never_sent(requests.ConnectTimeout())
    assert not never_sent(_raised_from(ConnectionResetError()))
    assert not never_sent(requests.ReadTimeout())
