"""What a runnable task sees while it runs, and how task implementations are registered.

A runnable task is a function ``run(task, ctx) -> outputs``: ``task`` is the validated property
model from ``controlplane.spec`` (plugin defaults merged, expressions not yet rendered) and ``ctx``
a :class:`RunContext`. Returning a dict means SUCCESS with those outputs; raising
:class:`TaskFailed` means FAILED with its message; :meth:`RunContext.warn` turns a success into
WARNING. Any other exception is a FAILED attempt too, logged with its type and message.

Implementations register by the property model they run::

    @runs(Return)
    def run_return(task: Return, ctx: RunContext) -> dict[str, Any]:
        return {"value": ctx.render(task.format)}
"""

from __future__ import annotations

import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal, TypeVar

from pydantic import BaseModel

from controlplane.engine.model import Execution, State
from controlplane.engine.ports import (
    FlowRecord,
    KvEntry,
    KvType,
    LogEntry,
    LogLevel,
    NamespaceFileRecord,
)
from controlplane.errors import WeirError


class TaskFailed(WeirError):
    """The task ran and failed; the message says why (shown in the task's logs)."""

    code = "task_failed"

    def __init__(self, message: str, outputs: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.outputs = dict(outputs or {})


class TaskKilled(WeirError):
    """The task was stopped from outside (kill of the execution, or its timeout)."""

    code = "task_killed"


class RunContext(ABC):
    """The services of one attempt of one task run. The engine provides the implementation."""

    execution_id: str
    namespace: str
    flow_id: str
    task_run_id: str
    task_id: str
    attempt: int
    cancelled: threading.Event
    """Set when the attempt must stop (kill or timeout); long-running tasks check it."""

    # -- expressions ----------------------------------------------------------------------
    @abstractmethod
    def render(self, value: Any) -> Any:
        """Render every string inside ``value`` (dicts and lists recursively) to text."""

    @abstractmethod
    def render_typed(self, value: Any) -> Any:
        """Like render, but a lone ``{{ expr }}`` keeps its type (list, map, number...)."""

    @abstractmethod
    def variables(self) -> Mapping[str, Any]:
        """The expression context of this task run (inputs, outputs, vars, taskrun...)."""

    # -- logs and metrics -------------------------------------------------------------------
    @abstractmethod
    def log(self, level: LogLevel, message: str) -> None:
        """Log a line for this attempt; secret values are masked."""

    def info(self, message: str) -> None:
        self.log("INFO", message)

    def warning(self, message: str) -> None:
        self.log("WARN", message)

    def error(self, message: str) -> None:
        self.log("ERROR", message)

    def debug(self, message: str) -> None:
        self.log("DEBUG", message)

    @abstractmethod
    def metric(self, name: str, value: float, kind: str = "counter", **tags: str) -> None: ...

    @abstractmethod
    def warn(self) -> None:
        """End this attempt in WARNING instead of SUCCESS."""

    # -- files --------------------------------------------------------------------------------
    @property
    @abstractmethod
    def working_dir(self) -> Path:
        """A directory for this attempt (shared by the tasks of a WorkingDirectory)."""

    def scratch_dir(self, prefix: str) -> Path:
        """A new folder of this attempt beside its working directory (so that ``outputFiles``
        globs never match it); the task removes it. Its processes may write it."""
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.working_dir.parent))

    @abstractmethod
    def put_file(self, name: str, data: bytes | BinaryIO | Path) -> str:
        """Store a file of this task run in internal storage; returns its ``kestra:///`` URI."""

    @abstractmethod
    def open_file(self, uri: str) -> BinaryIO:
        """Open an internal-storage file this execution may read (its own, its parents',
        namespace files as ``nsfile:///path``); raises TaskFailed when it may not."""

    @abstractmethod
    def namespace_files(
        self, include: Iterable[str] = (), exclude: Iterable[str] = ()
    ) -> dict[str, bytes]:
        """Files of the flow's namespace matching the globs, by relative path."""

    @abstractmethod
    def purge_execution_files(self) -> list[str]:
        """Delete this execution's files from internal storage; returns their URIs."""

    # -- KV store and secrets -------------------------------------------------------------------
    @abstractmethod
    def kv_get(self, namespace: str, key: str) -> KvEntry | None: ...

    @abstractmethod
    def kv_set(
        self, namespace: str, key: str, value: Any, type: KvType, ttl_seconds: float | None
    ) -> None: ...

    @abstractmethod
    def kv_delete(self, namespace: str, key: str) -> bool: ...

    @abstractmethod
    def kv_keys(self, namespace: str, prefix: str | None = None) -> list[str]: ...

    @abstractmethod
    def secret(self, name: str) -> str:
        """A secret of the flow's namespace (or a parent); its value is masked in logs."""

    # -- execution ------------------------------------------------------------------------------
    @abstractmethod
    def read_execution(self, execution_id: str | None = None) -> Execution | None:
        """An execution as stored now (default: this one), for summaries and notifications;
        None when it does not exist."""

    @property
    @abstractmethod
    def control(self) -> ControlPlane:
        """Writes to the control plane (flows, namespace files) on behalf of a task."""

    @abstractmethod
    def set_labels(self, labels: Mapping[str, str]) -> None:
        """Add or override labels of the execution."""

    @abstractmethod
    def set_variables(self, values: Mapping[str, Any], unset: Sequence[str] = ()) -> None:
        """Merge ``values`` into the execution's variables (``vars``) and remove the dotted
        paths of ``unset``, once the task succeeded."""

    @abstractmethod
    def send(self, kind: Literal["resume", "kill"], execution_id: str, payload: Any = None) -> None:
        """Resume or kill an execution once the task succeeded and its result is stored."""

    @abstractmethod
    def run_process(
        self,
        args: list[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        on_line: Callable[[str, bool], None] | None = None,
    ) -> int:
        """Run a subprocess in its own process group and return its exit code.

        Each output line goes to ``on_line(line, is_stderr)`` (default: logged at INFO / ERROR).
        A kill or a timeout stops the whole group (SIGTERM, then SIGKILL) and raises TaskKilled.
        """


class ControlPlane(ABC):
    """What a task may change of the control plane (git sync tasks), with the API's rules: a
    flow or file another manager manages is refused (TaskFailed naming the manager) unless
    ``force``; a flow source is validated before it is saved."""

    @abstractmethod
    def list_flows(self, namespace: str, include_children: bool = False) -> list[FlowRecord]: ...

    @abstractmethod
    def save_flow(self, source: str, manager: str | None, force: bool = False) -> FlowRecord:
        """Validate ``source`` and save it as the next revision of the flow it declares."""

    @abstractmethod
    def delete_flow(self, namespace: str, flow_id: str) -> bool: ...

    @abstractmethod
    def list_files(self, namespace: str) -> list[NamespaceFileRecord]: ...

    @abstractmethod
    def read_file(self, namespace: str, path: str) -> bytes | None: ...

    @abstractmethod
    def save_file(
        self, namespace: str, path: str, data: bytes, manager: str | None, force: bool = False
    ) -> NamespaceFileRecord: ...

    @abstractmethod
    def delete_file(self, namespace: str, path: str) -> bool: ...

    # -- housekeeping (log.Fetch, the purge tasks, storage.Delete) -------------------------------
    @abstractmethod
    def delete_storage_file(self, uri: str) -> bool:
        """Delete one internal-storage file; the task has checked that it may read it."""

    @abstractmethod
    def list_logs(self, execution_id: str) -> list[LogEntry]: ...

    @abstractmethod
    def purge_logs(self, purge: Purge) -> int:
        """Delete the log lines of the executions ``purge`` selects; returns how many went."""

    @abstractmethod
    def purge_executions(self, purge: Purge, what: frozenset[str]) -> dict[str, int]:
        """Delete, of the executions ``purge`` selects, ``what`` of "executions", "logs",
        "metrics" and "storage"; returns the counts by that name."""

    @abstractmethod
    def count_executions(
        self,
        namespaces: Sequence[str],
        flows: Sequence[tuple[str, str]],
        states: Sequence[State] | None,
        since: datetime | None,
        until: datetime | None,
    ) -> dict[tuple[str, str], int]:
        """Executions per (namespace, flow id), started in ``[since, until)``; see
        ExecutionRepository.count_by_flow."""

    @abstractmethod
    def purge_flow_revisions(
        self, namespace: str, flow_glob: str | None, keep: int | None, before: datetime | None
    ) -> int:
        """Old revisions of the live flows of ``namespace`` (those whose id matches the glob)
        deleted; see FlowRepository.purge_revisions."""

    @abstractmethod
    def toggle_trigger(self, namespace: str, flow_id: str, trigger_id: str, enabled: bool) -> None:
        """Switch a trigger of a live flow on or off, whatever its YAML says of it otherwise;
        TaskFailed when the flow or the trigger does not exist."""

    @abstractmethod
    def purge_kv(self, namespace: str, key_pattern: str | None, expired_only: bool) -> list[str]:
        """Delete the KV pairs of ``namespace`` (matching the glob; only the expired ones)."""

    @abstractmethod
    def list_namespaces(self) -> list[str]:
        """Every namespace that holds a flow or is declared."""

    @abstractmethod
    def check_reach(self, namespace: str, what: str) -> None:
        """TaskFailed when the task may not reach ``what`` of ``namespace`` (the control plane
        a task sees refuses what its namespace may not reach)."""

    # -- the task cache (taskCache) --------------------------------------------------------------
    @abstractmethod
    def read_task_cache(self, namespace: str, flow_id: str, task_id: str, key: str) -> Any:
        """The cached outputs under ``key`` (files as ``$cachedFile`` references); None when
        absent or expired."""

    @abstractmethod
    def write_task_cache(
        self,
        namespace: str,
        flow_id: str,
        task_id: str,
        key: str,
        outputs: Mapping[str, Any],
        expires: datetime,
    ) -> None:
        """Keep ``outputs`` (and copies of the files they name) until ``expires``."""

    @abstractmethod
    def open_cached_file(self, path: str) -> BinaryIO: ...


@dataclass(frozen=True)
class Purge:
    """Which executions a purge task selects: by namespace (and those below it), flow, id,
    start date range (``start`` <= started < ``end``), states, and for logs their levels."""

    end: datetime
    start: datetime | None = None
    namespace: str | None = None
    flow_id: str | None = None
    execution_id: str | None = None
    states: frozenset[str] = frozenset()
    levels: frozenset[LogLevel] = frozenset()


M = TypeVar("M", bound=BaseModel)
Runner = Callable[[Any, RunContext], Mapping[str, Any] | None]

_RUNNERS: dict[type[BaseModel], Runner] = {}


def runs(model: type[M]) -> Callable[[Callable[[M, RunContext], Mapping[str, Any] | None]], Runner]:
    """Register the implementation of the runnable task whose property model is ``model``."""

    def decorate(function: Callable[[M, RunContext], Mapping[str, Any] | None]) -> Runner:
        if model in _RUNNERS:
            raise ValueError(f"{model.__name__} has two implementations")
        _RUNNERS[model] = function
        return function

    return decorate


_loader: Callable[[type[BaseModel] | None], None] | None = None


def install_loader(loader: Callable[[type[BaseModel] | None], None]) -> None:
    """Let ``loader`` import the implementation of a model on its first run (all of them when
    given None), so that a process imports only the implementations its flows use."""
    global _loader
    _loader = loader


def has_runner(model: type[BaseModel]) -> bool:
    """Whether ``model``'s implementation is registered (without loading any)."""
    return model in _RUNNERS


def runner_for(model: type[BaseModel]) -> Runner | None:
    found = _RUNNERS.get(model)
    if found is None and _loader is not None:
        _loader(model)
        found = _RUNNERS.get(model)
    return found


def implemented() -> set[type[BaseModel]]:
    if _loader is not None:
        _loader(None)
    return set(_RUNNERS)
