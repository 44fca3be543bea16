"""Retry policies: which one applies to a failed task, and how long until the next try.

A task's own ``retry`` wins; then that of the nearest enclosing flowable; then the flow's (for
RETRY_FAILED_TASK). A policy with CREATE_NEW_EXECUTION retries the whole execution as a new one
instead of the task in place.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import timedelta

from controlplane.engine.model import Execution, TaskRun, now
from controlplane.spec.flow import Flow
from controlplane.spec.tasks import ConstantRetry, ExponentialRetry, RandomRetry, TaskSpec

Retry = ConstantRetry | ExponentialRetry | RandomRetry


def policy_for(
    task: TaskSpec, tasks: Mapping[str, TaskSpec], parent_task: Mapping[str, str], flow: Flow
) -> Retry | None:
    current: str | None = task.id
    while current is not None:
        candidate = tasks[current].retry
        if candidate is not None:
            return candidate
        current = parent_task.get(current)
    if flow.retry is not None and flow.retry.behavior == "RETRY_FAILED_TASK":
        return flow.retry
    return None


def next_attempt_in(policy: Retry | None, run: TaskRun) -> timedelta | None:
    """The wait before the next attempt of ``run``, or None when the policy allows no more."""
    if policy is None or not _bounded(policy):
        return None
    attempts = len(run.attempts)
    if policy.maxAttempts is not None and attempts >= policy.maxAttempts:
        return None
    delay = _delay(policy, attempts)
    if (
        policy.maxDuration is not None
        and now() + delay - run.attempts[0].started >= policy.maxDuration
    ):
        return None
    return delay


def next_execution_in(policy: Retry | None, execution: Execution) -> timedelta | None:
    """The wait before the next execution of a CREATE_NEW_EXECUTION chain, or None."""
    if policy is None or not _bounded(policy):
        return None
    if policy.maxAttempts is not None and execution.attempt >= policy.maxAttempts:
        return None
    delay = _delay(policy, execution.attempt)
    since = execution.chain_started or execution.started
    if policy.maxDuration is not None and now() + delay - since >= policy.maxDuration:
        return None
    return delay


def _bounded(policy: Retry) -> bool:
    # Without a limit a retry would go on forever: Kestra requires one of the two.
    return policy.maxAttempts is not None or policy.maxDuration is not None


def _delay(policy: Retry, attempts: int) -> timedelta:
    """The wait before the next try, after ``attempts`` tries."""
    if isinstance(policy, RandomRetry):
        low, high = policy.minInterval, policy.maxInterval
        return low + (high - low) * random.random()
    if isinstance(policy, ExponentialRetry):
        return policy.delay(attempts)
    return policy.interval
