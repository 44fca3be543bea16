"""The concrete :class:`RunContext` of one attempt: expressions, logs and metrics, files, KV pairs
and secrets, processes, all within what the attempt's namespace may reach.

Log lines are buffered and written in batches (every ``log_flush_lines`` lines,
``log_flush_seconds`` after the first unwritten line through the shared :class:`Scheduler`, and
at the end); every line, output, label and error is masked of the secrets the attempt knows.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import posixpath
import secrets as _random
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, Literal

from controlplane.engine.attempt_functions import Scope, namespace_chain
from controlplane.engine.envsecrets import env_secret
from controlplane.engine.globs import glob_match
from controlplane.engine.model import Execution, now
from controlplane.engine.ports import (
    KvEntry,
    KvType,
    LogEntry,
    LogLevel,
    Metric,
    Repositories,
    Store,
    execution_storage_path,
    namespace_file_path,
)
from controlplane.engine.process import CancelEvent, LineHandler, Scheduler, Timer, run_process
from controlplane.engine.reach import GuardedControlPlane, may_reach, refusal
from controlplane.engine.runnable import ControlPlane, RunContext, TaskFailed
from controlplane.engine.sandbox import (
    UNSAFE_WARNING,
    SandboxSettings,
    SandboxUnavailable,
    confine,
    give_to,
    unavailable_message,
)
from controlplane.engine.work import WorkItem
from controlplane.expr import ExpressionError, Renderer
from controlplane.expr.budget import interruptible
from controlplane.masking import Masker

_log = logging.getLogger(__name__)

_LEVELS: dict[str, int] = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "WARNING": 3, "ERROR": 4}
OUTPUT_DIR_NAME = "_weir_outputs"
"""``{{ outputDir }}``: a folder of the working directory whose files script tasks store."""


@dataclass(frozen=True)
class WorkerSettings:
    temp_root: Path
    """Where per-attempt working directories are created."""
    log_flush_seconds: float = 0.5
    log_flush_lines: int = 200
    kill_grace_seconds: float = 5.0
    """Between SIGTERM and SIGKILL of a process group."""
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    """How task processes are confined (see controlplane.engine.sandbox)."""


class AttemptContext(RunContext):
    """Everything one attempt of one task run may use; see :class:`RunContext`."""

    cancelled: CancelEvent

    def __init__(
        self,
        item: WorkItem,
        store: Store,
        settings: WorkerSettings,
        renderer: Renderer,
        cancelled: CancelEvent | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.item = item
        self.store = store
        self.settings = settings
        self.renderer = renderer
        self.scheduler = scheduler
        self.execution_id = item.execution_id
        self.namespace = item.namespace
        self.flow_id = item.flow_id
        self.task_run_id = item.task_run_id
        self.task_id = item.task.id
        self.attempt = item.attempt
        self.cancelled = cancelled if cancelled is not None else CancelEvent()
        self.labels: dict[str, str] = {}
        self.variables_set: dict[str, Any] = {}
        self.variables_unset: list[str] = []
        self.commands: list[tuple[str, str, dict[str, Any]]] = []
        self.warned = False
        self.timed_out = False
        level = item.task.logLevel
        self._min_level = _LEVELS[level] if level else 0
        self._masker = Masker(v for v in item.secret_values if v)
        self._secrets: dict[str, str] = {}
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._logs: list[LogEntry] = []
        self._metrics: list[Metric] = []
        self._flush_timer: Timer | None = None
        self._scope: Scope | None = None
        self._dir: Path | None = item.working_dir
        self._dir_owned = False
        self._scratch: list[Path] = []
        self._unsafe_noted = False
        self._readable = [execution_storage_path(*p) for p in item.parent_executions]
        self._readable.insert(
            0, execution_storage_path(item.namespace, item.flow_id, item.execution_id)
        )

    # -- expressions ------------------------------------------------------------------------

    def variables(self) -> Mapping[str, Any]:
        if self._scope is None:
            scope = Scope(self.item.variables)
            scope["workingDir"] = str(self._planned_dir())
            scope["outputDir"] = str(self._planned_dir() / OUTPUT_DIR_NAME)
            scope.attempt = self
            self._scope = scope
        return self._scope

    def render(self, value: Any) -> Any:
        with interruptible(self.cancelled.is_set):
            return self.renderer.render_value(value, self.variables())

    def render_typed(self, value: Any) -> Any:
        with interruptible(self.cancelled.is_set):
            return self.renderer.render_value(value, self.variables(), typed=True)

    # -- logs and metrics ---------------------------------------------------------------------

    def log(self, level: LogLevel, message: str) -> None:
        if _LEVELS.get(level, 2) < self._min_level:
            return
        entry = LogEntry(
            execution_id=self.execution_id,
            task_run_id=self.task_run_id,
            task_id=self.task_id,
            attempt=self.attempt,
            level="WARN" if level == "WARNING" else level,  # type: ignore[comparison-overlap]
            message=self.mask(message),
            at=now(),
            namespace=self.namespace,
            flow_id=self.flow_id,
        )
        with self._lock:
            self._logs.append(entry)
            full = len(self._logs) >= self.settings.log_flush_lines
            if not full and self._flush_timer is None and self.scheduler is not None:
                self._flush_timer = self.scheduler.call_later(
                    self.settings.log_flush_seconds, self.flush
                )
        if full:
            self.flush()

    def metric(self, name: str, value: float, kind: str = "counter", **tags: str) -> None:
        metric = Metric(
            execution_id=self.execution_id,
            task_run_id=self.task_run_id,
            task_id=self.task_id,
            name=name,
            type="timer" if kind == "timer" else "counter",
            value=float(value),
            tags={k: str(v) for k, v in tags.items()},
            at=now(),
        )
        with self._lock:
            self._metrics.append(metric)

    def warn(self) -> None:
        self.warned = True

    def mask(self, text: str) -> str:
        """``text`` with every known secret value (and its common encodings) masked."""
        return self._masker.mask(text)

    def mask_value(self, value: Any) -> Any:
        """``value`` (outputs, labels) with every known secret value in its strings masked."""
        return self._masker.mask_value(value)

    def add_mask(self, value: str) -> None:
        """Mask ``value`` from now on (each line of a multi-line value too)."""
        self._masker.add(value)

    def flush(self) -> None:
        """Write the buffered logs and metrics in one unit (nothing when there are none)."""
        with self._flush_lock:
            with self._lock:
                logs, self._logs = self._logs, []
                metrics, self._metrics = self._metrics, []
                if self._flush_timer is not None:
                    self._flush_timer.cancel()
                    self._flush_timer = None
            if not logs and not metrics:
                return
            try:
                with self.store.unit() as repos:
                    if logs:
                        repos.logs.create_logs(logs)
                    if metrics:
                        repos.metrics.create_metrics(metrics)
            except Exception:
                _log.exception(
                    "could not write %d log lines of task run %s", len(logs), self.task_run_id
                )

    # -- files ----------------------------------------------------------------------------------

    @property
    def working_dir(self) -> Path:
        if self._dir is None or not self._dir.exists():
            planned = self._planned_dir()
            planned.mkdir(parents=True, exist_ok=True)
            self._dir_owned = self.item.working_dir is None
        assert self._dir is not None
        return self._dir

    def _planned_dir(self) -> Path:
        if self._dir is None:
            name = f"{self.task_run_id}-{self.attempt}-{_random.token_hex(4)}"
            self._dir = self.settings.temp_root / name
        return self._dir

    def scratch_dir(self, prefix: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=self.working_dir.parent))
        self._scratch.append(path)
        return path

    def remove_working_dir(self) -> None:
        if self._dir_owned and self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    def put_file(self, name: str, data: bytes | BinaryIO | Path) -> str:
        relative = _safe_relative(name)
        path = (
            f"{execution_storage_path(self.namespace, self.flow_id, self.execution_id)}"
            f"tasks/{self.task_id}/{self.task_run_id}/{relative}"
        )
        if isinstance(data, Path):
            with data.open("rb") as stream:
                return self.store.files.put(path, stream)
        return self.store.files.put(path, data)

    def open_file(self, uri: str) -> BinaryIO:
        checked = self.checked_uri(uri)
        try:
            return self.store.files.open(checked)
        except FileNotFoundError:
            raise TaskFailed(f"the file {uri} does not exist") from None

    def checked_uri(self, uri: str) -> str:
        """The storage URI of ``uri`` when this attempt may read it; else TaskFailed naming it."""
        path = self.storage_path(uri)
        if path is not None and not any(path.startswith(p) for p in self._allowed()):
            owner = _files_namespace(path)
            if owner is not None and not self.may_reach(owner):
                raise TaskFailed(refusal(self.namespace, owner, "the namespace files").message)
            if owner is not None:
                return "kestra:///" + path
        if path is None or not any(path.startswith(prefix) for prefix in self._allowed()):
            raise TaskFailed(
                f"the file {uri} belongs to another execution or namespace: a task may read its "
                "own execution's files, its parent execution's and its namespace's files"
            )
        return "kestra:///" + path

    def storage_path(self, uri: str) -> str | None:
        """The normalised storage path of a ``kestra://`` or ``nsfile://`` URI, None if invalid."""
        if uri.startswith("nsfile://"):
            rest = uri[len("nsfile://") :]
            namespace, _, relative = rest.partition("/")
            path = namespace_file_path(namespace or self.namespace, relative)
        elif uri.startswith("kestra://"):
            path = uri[len("kestra://") :]
        else:
            return None
        normal = posixpath.normpath("/" + path).lstrip("/")
        return None if ".." in normal.split("/") else normal

    def resolve(self, path_or_uri: str) -> str:
        """A URI as is; a bare path is a file of the flow's namespace."""
        if "://" in path_or_uri:
            return path_or_uri
        return "nsfile:///" + path_or_uri.lstrip("/")

    def namespace_file_uri(self, path: str) -> str:
        return self.checked_uri(self.resolve(path))

    def namespace_files(
        self, include: Iterable[str] = (), exclude: Iterable[str] = ()
    ) -> dict[str, bytes]:
        base = namespace_file_path(self.namespace, "")
        includes, excludes = list(include), list(exclude)
        found: dict[str, bytes] = {}
        for uri in self.store.files.list(base):
            relative = (self.storage_path(uri) or "").removeprefix(base)
            if includes and not any(glob_match(p, relative) for p in includes):
                continue
            if any(glob_match(p, relative) for p in excludes):
                continue
            with self.store.files.open(uri) as stream:
                found[relative] = stream.read()
        return found

    def purge_execution_files(self) -> list[str]:
        prefix = execution_storage_path(self.namespace, self.flow_id, self.execution_id)
        uris = list(self.store.files.list(prefix))
        self.store.files.delete_prefix(prefix)
        return uris

    def _allowed(self) -> list[str]:
        chain = namespace_chain(self.namespace)
        return [*self._readable, *(namespace_file_path(ns, "") for ns in chain)]

    # -- KV store and secrets ---------------------------------------------------------------------

    def kv_get(self, namespace: str, key: str) -> KvEntry | None:
        with self.store.unit() as repos:
            self._reach(repos, namespace, "the KV pairs", inherited=True)
            return repos.kv.read_kv(namespace, key)

    def kv_set(
        self, namespace: str, key: str, value: Any, type: KvType, ttl_seconds: float | None
    ) -> None:
        expires = now() + timedelta(seconds=ttl_seconds) if ttl_seconds is not None else None
        with self.store.unit() as repos:
            self._reach(repos, namespace, "the KV pairs")
            _refuse_managed(repos.kv.read_kv(namespace, key), "overwrite")
            repos.kv.update_kv(namespace, key, value, type, expires)

    def kv_delete(self, namespace: str, key: str) -> bool:
        with self.store.unit() as repos:
            self._reach(repos, namespace, "the KV pairs")
            _refuse_managed(repos.kv.read_kv(namespace, key), "delete")
            return repos.kv.delete_kv(namespace, key)

    def kv_keys(self, namespace: str, prefix: str | None = None) -> list[str]:
        with self.store.unit() as repos:
            self._reach(repos, namespace, "the KV pairs", inherited=True)
            entries = repos.kv.list_kv(namespace)
        return [e.key for e in entries if prefix is None or e.key.startswith(prefix)]

    def may_reach(self, namespace: str, inherited: bool = False) -> bool:
        """Whether this flow may reach ``namespace`` (see controlplane.engine.reach)."""
        with self.store.unit(read_only=True) as repos:
            read = repos.namespaces.read_namespace
            return may_reach(read, self.namespace, namespace, inherited=inherited)

    def _reach(
        self, repos: Repositories, namespace: str, what: str, inherited: bool = False
    ) -> None:
        read = repos.namespaces.read_namespace
        if not may_reach(read, self.namespace, namespace, inherited=inherited):
            raise TaskFailed(refusal(self.namespace, namespace, what).message)

    def secret(self, name: str) -> str:
        if name in self._secrets:
            return self._secrets[name]
        chain = namespace_chain(self.namespace)
        with self.store.unit() as repos:
            for namespace in chain:
                value = repos.secrets.read_secret_value(namespace, name)
                if value is not None:
                    self._secrets[name] = value
                    self.add_mask(value)
                    return value
        value = env_secret(name)
        if value is not None:
            self._secrets[name] = value
            self.add_mask(value)
            return value
        raise ExpressionError(
            f"the secret '{name}' does not exist in namespace '{self.namespace}' nor its parents "
            f"({', '.join(chain[1:]) or 'none'}) nor as the environment variable SECRET_{name}; "
            "create it with `weir secret set`"
        )

    # -- execution ------------------------------------------------------------------------------

    def read_execution(self, execution_id: str | None = None) -> Execution | None:
        with self.store.unit(read_only=True) as repos:
            found = repos.executions.read_execution(execution_id or self.execution_id)
            parents = {parent[2] for parent in self.item.parent_executions}
            if found is not None and found.id not in parents:
                self._reach(repos, found.namespace, "the executions")
            return found

    @property
    def control(self) -> ControlPlane:
        return GuardedControlPlane(self.store, self.namespace)

    def set_labels(self, labels: Mapping[str, str]) -> None:
        self.labels.update({str(k): str(v) for k, v in labels.items()})

    def set_variables(self, values: Mapping[str, Any], unset: Sequence[str] = ()) -> None:
        self.variables_set.update(values)
        self.variables_unset += unset

    def send(self, kind: Literal["resume", "kill"], execution_id: str, payload: Any = None) -> None:
        self.commands.append((kind, execution_id, dict(payload or {})))

    def run_process(
        self,
        args: list[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        on_line: Callable[[str, bool], None] | None = None,
    ) -> int:
        handler: LineHandler = on_line or self._log_line
        workdir = cwd or self.working_dir
        command, full_env = self._confined(args, env or {}, workdir)
        return run_process(
            command,
            env=full_env,
            cwd=workdir,
            on_line=handler,
            cancelled=self.cancelled,
            grace_seconds=self.settings.kill_grace_seconds,
        )

    def _confined(
        self, args: list[str], env: Mapping[str, str], cwd: Path
    ) -> tuple[list[str], dict[str, str]]:
        """The sandboxed command line and environment of a process of this attempt."""
        if not self.settings.sandbox.enabled:
            if not self._unsafe_noted:
                self._unsafe_noted = True
                self.warning(UNSAFE_WARNING)
            return args, {**_inherited_env(), **env}
        writable = [self.working_dir, *self._scratch]
        if not any(cwd.is_relative_to(path) for path in writable):
            cwd = self.working_dir  # a folder outside the attempt's is not shown (git clone's)
        try:
            confined = confine(self._sandbox_settings(), args, env=env, cwd=cwd, writable=writable)
        except SandboxUnavailable as exc:
            raise TaskFailed(unavailable_message(str(exc))) from None
        give_to(confined.owner, confined.writable)
        return confined.args, confined.env

    def _sandbox_settings(self) -> SandboxSettings:
        """The settings with the attempts' root hidden too (other attempts' directories)."""
        sandbox = self.settings.sandbox
        return dataclasses.replace(sandbox, hidden=(*sandbox.hidden, self.settings.temp_root))

    def _log_line(self, line: str, is_stderr: bool) -> None:
        self.log("ERROR" if is_stderr else "INFO", line)

    def time_out(self) -> None:
        self.timed_out = True
        self.cancelled.set()


def _refuse_managed(entry: KvEntry | None, action: str) -> None:
    """A task writes KV pairs as the API does for a request that names no manager."""
    if entry is None or entry.managed_by is None:
        return
    raise TaskFailed(
        f"Cannot {action} the KV pair '{entry.key}' of namespace '{entry.namespace}': it is "
        f"managed by {entry.managed_by}; change it there, or take it out of {entry.managed_by}'s "
        "hands first"
    )


def _inherited_env() -> dict[str, str]:
    """The worker's environment without Weir's own settings (WEIR_SECRET_KEY, database URL)
    and the secrets given as SECRET_* variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("WEIR_", "SECRET_"))}


def _files_namespace(path: str) -> str | None:
    """The namespace whose namespace files ``path`` is one of, None for other storage."""
    folder, found, _ = path.partition("/_files/")
    return folder.replace("/", ".") if found and folder else None


def _safe_relative(name: str) -> str:
    normal = posixpath.normpath("/" + name.replace("\\", "/")).lstrip("/")
    if not normal or normal == ".":
        raise TaskFailed(f"'{name}' is not a valid file name")
    return normal
