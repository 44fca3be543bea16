"""Runs tasks for real: a SQLite store under tmp_path, real processes, WorkItems built the way
the executor builds them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

import controlplane.tasks  # noqa: F401  (registers the implementations)
from controlplane.engine.attempt_context import WorkerSettings
from controlplane.engine.attempt_run import run_attempt
from controlplane.engine.model import new_id, now
from controlplane.engine.ports import LogEntry, Store
from controlplane.engine.sandbox import SandboxSettings
from controlplane.engine.work import AttemptResult, WorkItem
from controlplane.spec.tasks import Task, TaskSpec
from controlplane.store import StoreSettings, open_store

_TASK: TypeAdapter[TaskSpec] = TypeAdapter(Task)


def variables(
    item_ids: Mapping[str, str],
    task: TaskSpec,
    inputs: Mapping[str, Any] | None = None,
    outputs: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    trigger: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The expression context of a task run, as the executor builds it (A9.3)."""
    context: dict[str, Any] = {
        "flow": {"id": item_ids["flow"], "namespace": item_ids["namespace"], "revision": 1},
        "execution": {
            "id": item_ids["execution"],
            "startDate": now().isoformat(),
            "state": "RUNNING",
            "originalId": item_ids["execution"],
        },
        "task": {"id": task.id, "type": task.type},
        "taskrun": {
            "id": item_ids["taskrun"],
            "startDate": now().isoformat(),
            "attemptsCount": 0,
            "parentId": None,
            "value": None,
        },
        "inputs": dict(inputs or {}),
        "outputs": dict(outputs or {}),
        "vars": {},
        "labels": dict(labels or {}),
    }
    if trigger is not None:
        context["trigger"] = dict(trigger)
    return context


class Runner:
    """Builds WorkItems of one flow, runs them and reads back what they logged."""

    def __init__(self, store: Store, settings: WorkerSettings) -> None:
        self.store = store
        self.settings = settings
        self.namespace = "company.team"
        self.flow_id = "flow"
        self._executions: dict[str, str] = {}

    def item(
        self,
        task: Mapping[str, Any],
        *,
        execution_id: str | None = None,
        timeout: timedelta | None = None,
        secret_values: tuple[str, ...] = (),
        working_dir: Path | None = None,
        parent_executions: tuple[tuple[str, str, str], ...] = (),
        **context: Any,
    ) -> WorkItem:
        spec = _TASK.validate_python(dict(task))
        ids = {
            "namespace": self.namespace,
            "flow": self.flow_id,
            "execution": execution_id or new_id(),
            "taskrun": new_id(),
        }
        self._executions[ids["taskrun"]] = ids["execution"]
        return WorkItem(
            execution_id=ids["execution"],
            namespace=self.namespace,
            flow_id=self.flow_id,
            flow_revision=1,
            task_run_id=ids["taskrun"],
            task=spec,
            attempt=1,
            variables=variables(ids, spec, **context),
            timeout=timeout or spec.timeout,
            working_dir=working_dir,
            secret_values=secret_values,
            parent_executions=parent_executions,
        )

    def run(self, task: Mapping[str, Any], **kwargs: Any) -> AttemptResult:
        return run_attempt(self.item(task, **kwargs), self.store, self.settings)

    def execution_of(self, result: AttemptResult) -> str:
        return self._executions[result.task_run_id]

    def logs(self, result: AttemptResult) -> list[LogEntry]:
        with self.store.unit() as repos:
            entries = repos.logs.list_logs(self.execution_of(result))
        return [entry for _, entry in entries if entry.task_run_id == result.task_run_id]

    def messages(self, result: AttemptResult) -> list[str]:
        return [entry.message for entry in self.logs(result)]

    def put_secret(self, namespace: str, name: str, value: str) -> None:
        with self.store.unit() as repos:
            repos.secrets.update_secret(namespace, name, value)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(StoreSettings(home=tmp_path / "home"))
    yield opened
    opened.close()


@pytest.fixture
def settings(tmp_path: Path) -> WorkerSettings:
    return WorkerSettings(
        temp_root=tmp_path / "work",
        kill_grace_seconds=2.0,
        sandbox=SandboxSettings(hidden=(tmp_path / "home",)),
    )


@pytest.fixture
def runner(store: Store, settings: WorkerSettings) -> Runner:
    return Runner(store, settings)
