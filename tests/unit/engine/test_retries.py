"""Retry decisions: when a failed attempt is tried again, after how long, and when it stops.

Time passes by moving the execution's recorded times into the past (``Drive.age``), so a delay
of an hour costs the test nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from controlplane.engine.model import State
from tests.unit.engine.stepping import FLOW, RETURN, Drive, leaf, result


def with_retry(retry: str, extra: str = "") -> str:
    return (
        f"tasks:\n  - id: a\n    type: {RETURN}\n    format: x\n    retry: {retry}\n{extra}"
        f"  - {{id: b, type: {RETURN}, format: y}}\n"
    )


def fail_once(run: Drive) -> timedelta:
    """Fail the pending attempt of ``a``; the delay the executor set before the next one."""
    item = run.take("a")
    answer = result(item, State.FAILED)
    run.step(lambda s: s.apply_result(answer))
    wake = run.run("a").wake_at
    assert wake is not None, "no retry was decided"
    return wake - answer.ended


def test_a_failed_attempt_waits_its_interval_then_goes_out_again() -> None:
    run = Drive(with_retry("{type: constant, interval: PT1H, maxAttempts: 3}"))
    run.start()
    assert fail_once(run) == timedelta(hours=1)
    assert run.state("a") is State.RETRYING
    assert run.effects.wake_at == run.run("a").wake_at
    assert run.pending == []
    run.step()
    assert run.pending == []  # not yet due
    run.age(timedelta(hours=1, seconds=1))
    run.step()
    [item] = run.pending
    assert (item.task.id, item.attempt) == ("a", 2)
    run.answer("a")
    assert run.state("a") is State.SUCCESS
    assert [a.state for a in run.run("a").attempts] == [State.FAILED, State.SUCCESS]
    assert run.out() == ["b"]


def test_retries_stop_at_max_attempts_and_the_task_fails() -> None:
    run = Drive(with_retry("{type: constant, interval: PT0S, maxAttempts: 3}"))
    run.start()
    for attempt in (1, 2, 3):
        [item] = run.pending
        assert item.attempt == attempt
        run.answer("a", State.FAILED)
    assert run.pending == []
    assert run.state("a") is State.FAILED
    assert len(run.run("a").attempts) == 3
    assert run.ex.state is State.FAILED


def test_exponential_delays_grow_by_their_factor_up_to_max_interval() -> None:
    run = Drive(
        with_retry("{type: exponential, interval: PT1M, maxInterval: PT5M, maxAttempts: 6}")
    )
    run.start()
    delays = []
    for _ in range(4):
        delays.append(fail_once(run))
        run.age(delays[-1] + timedelta(seconds=1))
        run.step()
    assert delays == [timedelta(minutes=m) for m in (1, 2, 4, 5)]


def test_exponential_delay_factor_is_honoured() -> None:
    run = Drive(
        with_retry(
            "{type: exponential, interval: PT1M, maxInterval: PT1H, delayFactor: 3, maxAttempts: 4}"
        )
    )
    run.start()
    first = fail_once(run)
    run.age(first + timedelta(seconds=1))
    run.step()
    assert (first, fail_once(run)) == (timedelta(minutes=1), timedelta(minutes=3))


def test_random_delays_stay_between_min_and_max_interval() -> None:
    run = Drive(with_retry("{type: random, minInterval: PT1M, maxInterval: PT2M, maxAttempts: 20}"))
    run.start()
    delays = []
    for _ in range(10):
        delays.append(fail_once(run))
        run.age(delays[-1] + timedelta(seconds=1))
        run.step()
    assert all(timedelta(minutes=1) <= d <= timedelta(minutes=2) for d in delays)
    assert len(set(delays)) > 1


def test_max_duration_ends_retries_whose_next_try_would_come_too_late() -> None:
    run = Drive(with_retry("{type: constant, interval: PT10M, maxDuration: PT25M}"))
    run.start()
    assert fail_once(run) == timedelta(minutes=10)
    run.age(timedelta(minutes=11))
    run.step()
    assert fail_once(run) == timedelta(minutes=10)  # 21 minutes after the first try
    run.age(timedelta(minutes=11))
    run.step()
    run.answer("a", State.FAILED)  # the next would start 32 minutes after the first
    assert run.state("a") is State.FAILED
    assert len(run.run("a").attempts) == 3


def test_a_policy_with_neither_limit_never_retries() -> None:
    run = Drive(with_retry("{type: constant, interval: PT0S}"))
    run.start()
    run.answer("a", State.FAILED)
    assert run.state("a") is State.FAILED
    assert len(run.run("a").attempts) == 1


def test_success_after_a_retry_is_a_warning_with_warning_on_retry() -> None:
    run = Drive(
        with_retry("{type: constant, interval: PT0S, maxAttempts: 2, warningOnRetry: true}")
    )
    run.start()
    run.answer("a", State.FAILED)
    run.answer("a")
    assert run.state("a") is State.WARNING


def test_success_at_the_first_try_stays_success_with_warning_on_retry() -> None:
    run = Drive(
        with_retry("{type: constant, interval: PT0S, maxAttempts: 2, warningOnRetry: true}")
    )
    run.start()
    run.answer("a")
    assert run.state("a") is State.SUCCESS


NESTED = (
    f"tasks:\n  - id: seq\n    type: {FLOW}.Sequential\n"
    "    retry: {type: constant, interval: PT0S, maxAttempts: 2}\n    tasks:\n"
    f"      - {leaf('a')}\n"
    f"      - id: b\n        type: {RETURN}\n        format: y\n"
    "        retry: {type: constant, interval: PT0S, maxAttempts: 3}\n"
)


def test_a_flowable_retry_applies_to_its_children() -> None:
    run = Drive(NESTED)
    run.start()
    run.answer("a", State.FAILED)
    run.answer("a", State.FAILED)
    assert len(run.run("a").attempts) == 2
    assert run.state("a") is State.FAILED


def test_the_own_retry_of_a_child_wins_over_its_parents() -> None:
    run = Drive(NESTED)
    run.start()
    run.answer("a")
    for _ in range(3):
        run.answer("b", State.FAILED)
    assert len(run.run("b").attempts) == 3


def test_the_flow_retry_applies_to_every_task() -> None:
    run = Drive(
        "retry: {type: constant, interval: PT0S, maxAttempts: 2}\n"
        f"tasks:\n  - {{id: a, type: {RETURN}, format: x}}\n"
    )
    run.start()
    run.answer("a", State.FAILED)
    assert run.state("a") is State.RETRYING
    run.step()
    run.answer("a", State.FAILED)
    assert run.ex.state is State.FAILED
    assert len(run.run("a").attempts) == 2


def test_a_failure_while_killing_is_not_retried() -> None:
    run = Drive(with_retry("{type: constant, interval: PT0S, maxAttempts: 5}"))
    run.start()
    run.step(lambda s: s.kill())
    run.answer("a", State.FAILED)
    assert run.state("a") is State.FAILED
    assert run.ex.state is State.KILLED


def test_kill_ends_a_run_waiting_for_its_retry() -> None:
    run = Drive(with_retry("{type: constant, interval: PT1H, maxAttempts: 5}"))
    run.start()
    fail_once(run)
    run.step(lambda s: s.kill())
    assert run.kills == []  # nothing runs on a worker
    assert run.state("a") is State.KILLED
    assert run.ex.state is State.KILLED


# -- CREATE_NEW_EXECUTION ------------------------------------------------------------------------
NEW_EXECUTION = "{type: constant, interval: PT1M, maxAttempts: 3, behavior: CREATE_NEW_EXECUTION}"


def test_create_new_execution_ends_the_execution_retried_instead_of_retrying_the_task() -> None:
    run = Drive(with_retry(NEW_EXECUTION))
    run.start()
    effects = run.answer("a", State.FAILED)
    assert run.state("a") is State.FAILED
    assert len(run.run("a").attempts) == 1
    assert run.ex.state is State.RETRIED
    assert effects.retry_in == timedelta(minutes=1)


@pytest.mark.parametrize("attempt", [3, 4])
def test_the_last_execution_of_a_chain_fails_for_good(attempt: int) -> None:
    run = Drive(with_retry(NEW_EXECUTION))
    run.ex.attempt = attempt
    run.start()
    effects = run.answer("a", State.FAILED)
    assert run.ex.state is State.FAILED
    assert effects.retry_in is None


def test_a_chain_ends_when_its_max_duration_would_pass() -> None:
    run = Drive(
        with_retry(
            "{type: constant, interval: PT10M, maxDuration: PT1H, behavior: CREATE_NEW_EXECUTION}"
        )
    )
    run.ex.chain_started = run.ex.started - timedelta(minutes=55)
    run.start()
    run.answer("a", State.FAILED)
    assert run.ex.state is State.FAILED


def test_the_flow_retry_with_create_new_execution_retries_the_execution() -> None:
    run = Drive(
        "retry: {type: constant, interval: PT30S, maxAttempts: 2, behavior: CREATE_NEW_EXECUTION}\n"
        f"tasks:\n  - {{id: a, type: {RETURN}, format: x}}\n"
    )
    run.start()
    effects = run.answer("a", State.FAILED)
    assert len(run.run("a").attempts) == 1
    assert run.ex.state is State.RETRIED
    assert effects.retry_in == timedelta(seconds=30)


def test_a_success_ends_a_chain_execution_normally() -> None:
    run = Drive(with_retry(NEW_EXECUTION))
    run.start()
    run.answer("a")
    effects = run.answer("b")
    assert run.ex.state is State.SUCCESS
    assert effects.retry_in is None


def test_a_scheduled_execution_of_a_chain_waits_for_its_start() -> None:
    run = Drive(with_retry(NEW_EXECUTION))
    run.ex.scheduled = run.ex.started + timedelta(minutes=5)
    effects = run.start()
    assert run.ex.state is State.CREATED
    assert run.pending == []
    assert effects.wake_at == run.ex.scheduled
    run.age(timedelta(minutes=6))
    run.step()
    assert run.ex.state is State.RUNNING
    assert run.out() == ["a"]
