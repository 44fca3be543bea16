"""Runs one attempt of a runnable task: the concrete RunContext, run_attempt and the Worker pool.

:func:`run_attempt` builds an :class:`AttemptContext` from a :class:`WorkItem`, calls the task's
implementation and turns what happens into an :class:`AttemptResult`::

    returned outputs            -> SUCCESS (WARNING when the task called ctx.warn())
    TaskFailed                  -> FAILED, its message logged at ERROR
    ExpressionError             -> FAILED, "Unable to render `<template>`: <why>"
    TaskKilled / cancel         -> KILLED, or FAILED when the task's own timeout stopped it
    any other exception         -> FAILED, "TypeName: message" (the traceback goes to DEBUG)

The hot path of a trivial task creates no thread, sleeps nowhere and opens no store unit unless
the task logged something: log lines are buffered and written in batches (every 200 lines,
0.5 s after the first unwritten line through the shared :class:`Scheduler`, and at the end).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import posixpath
import re
import secrets as _random
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from controlplane.engine.envsecrets import env_secret
from controlplane.engine.masking import Masker
from controlplane.engine.model import Execution, State, now
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
from controlplane.engine.runnable import (
    ControlPlane,
    RunContext,
    TaskFailed,
    TaskKilled,
    runner_for,
)
from controlplane.engine.sandbox import (
    UNSAFE_WARNING,
    SandboxSettings,
    SandboxUnavailable,
    confine,
    give_to,
    unavailable_message,
)
from controlplane.engine.taskcache import run_cached
from controlplane.engine.work import AttemptResult, WorkItem
from controlplane.expr import ExpressionError, Renderer, needs_context
from controlplane.expr.budget import interruptible
from controlplane.spec.durations import format_duration

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


# -- durations and globs (shared with the task implementations) ---------------------------------


def plain_value(value: Any) -> Any:
    """A KV value as outputs and expressions see it: dates and durations as ISO-8601 text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return format_duration(value)
    return value


@functools.lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Java's glob syntax: ``**`` crosses directories, ``*`` and ``?`` do not, ``{a,b}``."""
    out, i, depth = [], 0, 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "{":
            out.append("(?:")
            depth += 1
        elif char == "}" and depth:
            out.append(")")
            depth -= 1
        elif char == "," and depth:
            out.append("|")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end > i:
                out.append("[" + pattern[i + 1 : end].replace("!", "^", 1) + "]")
                i = end + 1
                continue
            out.append(re.escape(char))
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


def glob_match(pattern: str, path: str) -> bool:
    """Whether the relative, '/'-separated ``path`` matches the glob ``pattern``."""
    return _glob_regex(pattern.lstrip("/")).match(path.lstrip("/")) is not None


# -- expression functions -----------------------------------------------------------------------


class _Scope(dict[str, Any]):
    """The render context of one attempt; expression functions find the attempt through it."""

    attempt: AttemptContext


def _attempt_of(context: Mapping[str, Any], name: str) -> AttemptContext:
    attempt = getattr(context, "attempt", None)
    if attempt is None:
        raise ExpressionError(f"{name}() is only available while a task runs")
    return attempt  # type: ignore[no-any-return]


@needs_context
def _secret(context: Mapping[str, Any], name: str) -> str:
    return _attempt_of(context, "secret").secret(name)


@needs_context
def _kv(
    context: Mapping[str, Any], key: str, namespace: str | None = None, errorOnMissing: bool = True
) -> Any:
    attempt = _attempt_of(context, "kv")
    start = namespace or attempt.namespace
    for candidate in namespace_chain(start):
        if candidate != start and not attempt.may_reach(candidate, inherited=True):
            continue  # an ancestor of another namespace, which this one may not read
        entry = attempt.kv_get(candidate, key)
        if entry is not None:
            return plain_value(entry.value)
    if errorOnMissing:
        raise ExpressionError(f"the KV key '{key}' does not exist in namespace '{start}'")
    return None


@needs_context
def _read(context: Mapping[str, Any], path: str) -> str:
    attempt = _attempt_of(context, "read")
    with attempt.open_file(attempt.resolve(path)) as stream:
        return stream.read().decode("utf-8")


@needs_context
def _file_uri(context: Mapping[str, Any], path: str) -> str:
    return _attempt_of(context, "fileURI").namespace_file_uri(path)


@needs_context
def _file_exists(context: Mapping[str, Any], path: str) -> bool:
    attempt = _attempt_of(context, "fileExists")
    return attempt.store.files.exists(attempt.checked_uri(attempt.resolve(path)))


@needs_context
def _file_size(context: Mapping[str, Any], path: str) -> int:
    attempt = _attempt_of(context, "fileSize")
    uri = attempt.resolve(path)
    return attempt.store.files.size(attempt.checked_uri(uri))


@needs_context
def _file_empty(context: Mapping[str, Any], path: str) -> bool:
    return _file_size(context, path) == 0


def attempt_functions() -> dict[str, Callable[..., Any]]:
    """The functions a running task's expressions may call besides the pure ones."""
    return {
        "secret": _secret,
        "kv": _kv,
        "read": _read,
        "fileURI": _file_uri,
        "fileExists": _file_exists,
        "fileSize": _file_size,
        "fileEmpty": _file_empty,
        "errorLogs": _error_logs,
    }


@needs_context
def _error_logs(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ERROR log lines of the execution so far, for errors and finally branches."""
    attempt = _attempt_of(context, "errorLogs")
    with attempt.store.unit() as repos:
        entries = repos.logs.list_logs(attempt.execution_id, min_level="ERROR")
    return [
        {
            "taskId": entry.task_id,
            "taskRunId": entry.task_run_id,
            "message": entry.message,
            "level": entry.level,
            "timestamp": entry.at.isoformat(),
        }
        for _, entry in entries
    ]


def namespace_chain(namespace: str) -> list[str]:
    """``a.b.c`` -> ``[a.b.c, a.b, a]``: where secrets, KV and namespace files are looked up."""
    parts = namespace.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


# -- the context of one attempt -----------------------------------------------------------------


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
        self._scope: _Scope | None = None
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
            scope = _Scope(self.item.variables)
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


# -- one attempt ------------------------------------------------------------------------------


@functools.cache
def default_renderer() -> Renderer:
    """The renderer shared by attempts (its compiled-template cache is what makes it cheap)."""
    return Renderer(functions=attempt_functions())


@functools.cache
def default_scheduler() -> Scheduler:
    return Scheduler()


def run_attempt(
    item: WorkItem,
    store: Store,
    settings: WorkerSettings,
    *,
    cancelled: CancelEvent | None = None,
    renderer: Renderer | None = None,
    scheduler: Scheduler | None = None,
) -> AttemptResult:
    """Run one attempt of ``item.task`` and say how it ended; never raises for a task's failure."""
    started = now()
    ctx = AttemptContext(
        item,
        store,
        settings,
        renderer or default_renderer(),
        cancelled,
        scheduler or default_scheduler(),
    )
    timer = None
    if item.timeout is not None:
        timer = (scheduler or default_scheduler()).call_later(
            item.timeout.total_seconds(), ctx.time_out
        )
    try:
        state, outputs, error = _run(item, ctx)
    finally:
        if timer is not None:
            timer.cancel()
        ctx.flush()
        ctx.remove_working_dir()
    return AttemptResult(
        task_run_id=item.task_run_id,
        attempt=item.attempt,
        state=state,
        started=started,
        ended=now(),
        outputs=ctx.mask_value(outputs),
        labels=ctx.mask_value(ctx.labels),
        error=ctx.mask(error) if error is not None else None,
    )


def _run(item: WorkItem, ctx: AttemptContext) -> tuple[State, dict[str, Any], str | None]:
    runner = runner_for(type(item.task))
    if runner is None:
        return _failed(ctx, f"Weir has no implementation of the task type {item.task.type}")
    if ctx.cancelled.is_set():
        return _failed(ctx, "The task was killed before it started", State.KILLED)
    try:
        outputs = dict(run_cached(runner, item.task, ctx) or {})
    except TaskKilled as exc:
        return _stopped(ctx, item, str(exc))
    except TaskFailed as exc:
        state, _, error = _failed(ctx, exc.message)
        return state, exc.outputs, error
    except ExpressionError as exc:
        if ctx.cancelled.is_set():  # a kill or the timeout stopped its rendering
            return _stopped(ctx, item, "while rendering")
        return _failed(ctx, _expression_message(exc))
    except Exception as exc:
        _log.debug("task run %s failed", item.task_run_id, exc_info=True)
        return _failed(ctx, f"{type(exc).__name__}: {exc}")
    return (State.WARNING if ctx.warned else State.SUCCESS), outputs, None


def _stopped(
    ctx: AttemptContext, item: WorkItem, why: str
) -> tuple[State, dict[str, Any], str | None]:
    if ctx.timed_out and item.timeout is not None:
        return _failed(ctx, f"Timeout after {format_duration(item.timeout)}: the task was stopped")
    return _failed(ctx, f"The task was killed ({why})", State.KILLED)


def _failed(
    ctx: AttemptContext, message: str, state: State = State.FAILED
) -> tuple[State, dict[str, Any], str]:
    masked = ctx.mask(message)
    ctx.log("WARN" if state is State.KILLED else "ERROR", masked)
    return state, {}, masked


def _expression_message(exc: ExpressionError) -> str:
    if exc.template is None:
        return str(exc)
    return f"Unable to render `{exc.template.strip()}`: {exc}"


# -- the pool ----------------------------------------------------------------------------------


class Worker:
    """Runs WorkItems on ``concurrency`` threads; ``kill`` stops one, ``shutdown`` stops all."""

    def __init__(self, store: Store, settings: WorkerSettings, concurrency: int = 8) -> None:
        self.store = store
        self.settings = settings
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="weir-worker")
        self._renderer = Renderer(functions=attempt_functions())
        self._scheduler = Scheduler()
        self._running: dict[str, CancelEvent] = {}
        self._futures: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, item: WorkItem, on_done: Callable[[AttemptResult], None]) -> None:
        """Queue ``item``; ``on_done`` gets its result on a worker thread."""
        cancelled = CancelEvent()
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker is shut down")
            self._running[item.task_run_id] = cancelled
            future = self._pool.submit(self._run, item, cancelled, on_done)
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def kill(self, task_run_id: str) -> bool:
        """Stop the attempt of ``task_run_id`` (queued or running); False when none is known."""
        with self._lock:
            cancelled = self._running.get(task_run_id)
        if cancelled is None:
            return False
        cancelled.set()
        return True

    def shutdown(self, grace_seconds: float) -> None:
        """Let attempts finish for ``grace_seconds``, then kill what still runs and wait for it."""
        with self._lock:
            self._closed = True
            futures = set(self._futures)
        wait(futures, timeout=grace_seconds)
        with self._lock:
            events = list(self._running.values())
        for event in events:
            event.set()
        self._pool.shutdown(wait=True)
        self._scheduler.close()

    def _run(
        self, item: WorkItem, cancelled: CancelEvent, on_done: Callable[[AttemptResult], None]
    ) -> None:
        try:
            result = run_attempt(
                item,
                self.store,
                self.settings,
                cancelled=cancelled,
                renderer=self._renderer,
                scheduler=self._scheduler,
            )
        finally:
            with self._lock:
                if self._running.get(item.task_run_id) is cancelled:
                    del self._running[item.task_run_id]
        on_done(result)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)
        error = future.exception()
        if error is not None:
            _log.error("a worker thread failed", exc_info=error)
