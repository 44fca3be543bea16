"""One retry policy for HTTP calls: exponential backoff, the server's ``Retry-After`` honoured,
bounded in calls and in time. tenacity runs the loop.

The caller says what may be repeated: its call raises :class:`Retry` for a failure after which
another call may succeed (a 503, a refused connection, and for an idempotent request a broken one)
and any other error for the rest. :func:`call_with_retries` waits and calls again while the policy
allows, and raises :class:`GaveUp` with the last :class:`Retry` when it does not. The wait is the
server's ``Retry-After`` when it gave one (at most ``max_retry_after``), else the backoff.

It imports nothing of Weir's, so that the API client and the tasks share it.
"""

from __future__ import annotations

import email.utils
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NoReturn, TypeVar

import requests
import tenacity
import urllib3.exceptions

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How failed calls are retried: exponential backoff, bounded in calls and time."""

    first_delay: float = 1.0
    """Seconds to wait after the first failed call; doubled after each next one."""
    max_delay: float | None = 15.0
    """The longest backoff, in seconds (None: no bound)."""
    max_attempts: int | None = None
    """Calls in all, the first included; None: as many as ``max_elapsed`` allows."""
    max_elapsed: float | None = 300.0
    """No call is made later than this many seconds after the first (None: no bound)."""
    max_retry_after: float | None = None
    """The longest a ``Retry-After`` may make a wait, in seconds (None: no bound)."""

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the failed call number ``attempt`` (from 1)."""
        if retry_after is not None:
            if self.max_retry_after is None:
                return retry_after
            return min(retry_after, self.max_retry_after)
        backoff = self.first_delay * 2 ** (attempt - 1)
        return float(backoff if self.max_delay is None else min(backoff, self.max_delay))

    def starting_at(self, seconds: float) -> RetryPolicy:
        """The same policy with a first delay no longer than ``seconds``."""
        return replace(self, first_delay=max(min(self.first_delay, seconds), 0.001))

    def stop(self) -> tenacity.stop.stop_base:
        limits: list[tenacity.stop.stop_base] = []
        if self.max_attempts is not None:
            limits.append(tenacity.stop_after_attempt(self.max_attempts))
        if self.max_elapsed is not None:
            limits.append(tenacity.stop_before_delay(self.max_elapsed))
        return tenacity.stop_any(*limits) if limits else tenacity.stop_never


class Retry(Exception):
    """Raised by a call that another call may succeed where it failed."""

    def __init__(self, why: str, retry_after: float | None = None, result: Any = None) -> None:
        super().__init__(why)
        self.why = why
        self.retry_after = retry_after
        """Seconds the server asked to wait (its ``Retry-After``), None when it asked nothing."""
        self.result = result
        """What the call had (a response), for the caller to use once retries are given up."""


class GaveUp(Exception):
    """The policy allows no further call after ``calls`` calls; ``last`` said why."""

    def __init__(self, last: Retry, calls: int) -> None:
        super().__init__(last.why)
        self.last = last
        self.calls = calls


def call_with_retries(
    policy: RetryPolicy,
    attempt: Callable[[int], T],
    *,
    sleep: Callable[[float], None] = time.sleep,
    before_sleep: Callable[[Retry, float, int], None] | None = None,
) -> T:
    """``attempt(n)`` (n from 1) until it returns, retried after each :class:`Retry` it raises
    while ``policy`` allows; any other exception ends the calls.

    Before each wait ``before_sleep(retry, seconds, n)`` is told (it may raise to stop), then
    ``sleep(seconds)`` waits (it may raise too: a cancelled task). :class:`GaveUp` when the
    policy allows no further call.
    """
    calls = 0

    def once() -> T:
        nonlocal calls
        calls += 1
        return attempt(calls)

    def wait(state: tenacity.RetryCallState) -> float:
        return policy.delay(state.attempt_number, _retry(state).retry_after)

    def announce(state: tenacity.RetryCallState) -> None:
        if before_sleep is not None:
            before_sleep(_retry(state), state.upcoming_sleep, state.attempt_number)

    def give_up(state: tenacity.RetryCallState) -> NoReturn:
        raise GaveUp(_retry(state), state.attempt_number)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(Retry),
        wait=wait,
        stop=policy.stop(),
        sleep=sleep,
        before_sleep=announce,
        retry_error_callback=give_up,
    )
    return retrying(once)


def _retry(state: tenacity.RetryCallState) -> Retry:
    assert state.outcome is not None
    error = state.outcome.exception()
    assert isinstance(error, Retry)
    return error


def retry_after(value: str | None) -> float | None:
    """Seconds asked by a ``Retry-After`` header: delay-seconds or an HTTP date (0 once past);
    None when absent or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(when.tzinfo)).total_seconds(), 0.0)


def never_sent(error: BaseException) -> bool:
    """Whether a request surely did not reach the server: no connection was made."""
    return isinstance(error, requests.ConnectTimeout) or caused_by(
        error, urllib3.exceptions.NewConnectionError, ConnectionRefusedError, socket.gaierror
    )


def caused_by(error: BaseException, *kinds: type[BaseException]) -> bool:
    """Whether ``error``, an error it was raised from or the reason it carries (urllib3's) is of
    one of ``kinds``."""
    seen: list[BaseException] = [error]
    for _ in range(20):
        if not seen:
            return False
        current = seen.pop()
        if isinstance(current, kinds):
            return True
        reason = getattr(current.args[0], "reason", None) if current.args else None
        linked = (current.__cause__, current.__context__, reason)
        seen += [e for e in linked if isinstance(e, BaseException)]
    return False
