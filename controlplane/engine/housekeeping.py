"""The housekeeping half of the control plane a task sees: logs read back, executions, logs and
KV pairs purged, single storage files deleted (log.Fetch, the purge tasks, storage.Delete), and
the task cache (``taskCache``).

Each purge reads the executions it selects page by page and deletes in units of work of one
page, so a long purge never holds the database for long.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, BinaryIO

from controlplane.engine.model import Execution, State
from controlplane.engine.ports import ExecutionFilter, LogEntry, Store, execution_storage_path
from controlplane.engine.runnable import Purge

_PAGE = 200


class StoreHousekeeping:
    """Mixed into the store-backed control plane."""

    store: Store

    def delete_storage_file(self, uri: str) -> bool:
        path = uri.removeprefix("kestra://").lstrip("/")
        return self.store.files.delete_prefix(path) > 0 if path else False

    def list_logs(self, execution_id: str) -> list[LogEntry]:
        with self.store.unit(read_only=True) as repos:
            return [entry for _, entry in repos.logs.list_logs(execution_id)]

    def purge_logs(self, purge: Purge) -> int:
        count = 0
        for page in self._selected(purge):
            with self.store.unit() as repos:
                for execution in page:
                    count += repos.logs.delete_logs(execution.id, sorted(purge.levels))
        return count

    def count_executions(
        self,
        namespaces: Sequence[str],
        flows: Sequence[tuple[str, str]],
        states: Sequence[State] | None,
        since: datetime | None,
        until: datetime | None,
    ) -> dict[tuple[str, str], int]:
        dates = ExecutionFilter(since=since, until=until)
        with self.store.unit(read_only=True) as repos:
            return repos.executions.count_by_flow(namespaces, flows, states, dates)

    def purge_executions(self, purge: Purge, what: frozenset[str]) -> dict[str, int]:
        counts = dict.fromkeys(("executions", "logs", "metrics", "storage"), 0)
        for page in self._selected(purge):
            with self.store.unit() as repos:
                for execution in page:
                    if "logs" in what:
                        counts["logs"] += repos.logs.delete_logs(execution.id, [])
                    if "metrics" in what:
                        counts["metrics"] += repos.metrics.delete_metrics(execution.id)
                    if "executions" in what:
                        counts["executions"] += repos.executions.delete_execution(execution.id)
            if "storage" in what:
                for execution in page:
                    path = execution_storage_path(
                        execution.namespace, execution.flow_id, execution.id
                    )
                    counts["storage"] += self.store.files.delete_prefix(path)
        return counts

    def purge_kv(self, namespace: str, key_pattern: str | None, expired_only: bool) -> list[str]:
        with self.store.unit() as repos:
            keys = repos.kv.list_kv_keys(namespace, expired_only)
            chosen = [k for k in keys if key_pattern is None or fnmatch.fnmatch(k, key_pattern)]
            for key in chosen:
                repos.kv.delete_kv(namespace, key)
        return chosen

    def purge_flow_revisions(
        self, namespace: str, flow_glob: str | None, keep: int | None, before: datetime | None
    ) -> int:
        count = 0
        with self.store.unit() as repos:
            for record in repos.flows.list_flows(namespace, exact=True):
                if flow_glob is None or fnmatch.fnmatchcase(record.flow_id, flow_glob):
                    count += repos.flows.purge_revisions(namespace, record.flow_id, keep, before)
        return count

    def list_namespaces(self) -> list[str]:
        with self.store.unit(read_only=True) as repos:
            declared = {record.name for record in repos.namespaces.list_namespaces()}
            declared |= {record.namespace for record in repos.flows.list_flows(None)}
        return sorted(declared)

    def _selected(self, purge: Purge) -> list[list[Execution]]:
        """The executions ``purge`` selects (never an unfinished one), in pages."""
        with self.store.unit(read_only=True) as repos:
            if purge.execution_id is not None:
                one = repos.executions.read_execution(purge.execution_id)
                found = [one] if one is not None else []
            else:
                states = [State(s) for s in purge.states] or None
                found = []
                offset = 0
                while True:
                    page = repos.executions.list_executions(
                        None, purge.flow_id, states, limit=_PAGE, offset=offset
                    )
                    found.extend(page)
                    if len(page) < _PAGE:
                        break
                    offset += _PAGE
        chosen = [e for e in found if _matches(e, purge)]
        return [chosen[i : i + _PAGE] for i in range(0, len(chosen), _PAGE)]


def _matches(execution: Execution, purge: Purge) -> bool:
    if not execution.state.terminal:
        return False
    if purge.namespace is not None and not (
        execution.namespace == purge.namespace
        or execution.namespace.startswith(purge.namespace + ".")
    ):
        return False
    if purge.flow_id is not None and execution.flow_id != purge.flow_id:
        return False
    started = execution.history[0].at if execution.history else None
    if started is None or started >= purge.end:
        return False
    return purge.start is None or started >= purge.start


class StoreTaskCache:
    """The task cache (``taskCache``) in internal storage, outside every namespace's files."""

    store: Store

    def read_task_cache(self, namespace: str, flow_id: str, task_id: str, key: str) -> Any:
        path = _cache_path(namespace, flow_id, task_id, key) + ".json"
        try:
            with self.store.files.open("kestra:///" + path) as stream:
                entry = json.loads(stream.read())
        except FileNotFoundError:
            return None
        if datetime.fromisoformat(entry["expires"]) <= datetime.now(UTC):
            self.store.files.delete_prefix(_cache_path(namespace, flow_id, task_id, key))
            self.store.files.delete_prefix(path)
            return None
        return entry["outputs"]

    def write_task_cache(
        self,
        namespace: str,
        flow_id: str,
        task_id: str,
        key: str,
        outputs: Mapping[str, Any],
        expires: datetime,
    ) -> None:
        base = _cache_path(namespace, flow_id, task_id, key)
        self.store.files.delete_prefix(base)
        counter = iter(range(1_000_000))

        def keep(value: Any) -> Any:
            if isinstance(value, str) and value.startswith("kestra:///"):
                target = f"{base}/{next(counter)}/{posixpath.basename(value)}"
                try:
                    with self.store.files.open(value) as stream:
                        self.store.files.put(target, stream)
                except FileNotFoundError:
                    return value
                return {"$cachedFile": target, "name": posixpath.basename(value)}
            if isinstance(value, Mapping):
                return {k: keep(v) for k, v in value.items()}
            if isinstance(value, list):
                return [keep(v) for v in value]
            return value

        entry = {"expires": expires.isoformat(), "outputs": keep(dict(outputs))}
        body = json.dumps(entry, default=str).encode()
        self.store.files.put(base + ".json", body)

    def open_cached_file(self, path: str) -> BinaryIO:
        if not path.startswith(_CACHE_ROOT + "/"):
            raise FileNotFoundError(path)
        return self.store.files.open("kestra:///" + path)


_CACHE_ROOT = "_cache/tasks"


def _cache_path(namespace: str, flow_id: str, task_id: str, key: str) -> str:
    return f"{_CACHE_ROOT}/{namespace}/{flow_id}/{task_id}/{key}"
