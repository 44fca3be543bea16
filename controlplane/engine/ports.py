"""The storage the engine needs, declared as Protocols; ``controlplane.store`` implements them.

Repositories flush and never commit: a unit of work (``Store.unit()``) owns the transaction and
commits when its block ends without an error. Names follow ``create_`` / ``read_`` / ``list_`` /
``update_`` / ``delete_``. Every repository method runs inside a unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Literal, Protocol

from controlplane.engine.model import Execution, State, TaskRun
from controlplane.engine.queueports import LeaseRepository, WorkRepository
from controlplane.engine.triggerports import TriggerRepository as TriggerRepository
from controlplane.engine.triggerports import TriggerStateRecord as TriggerStateRecord
from controlplane.errors import WeirError
from controlplane.spec.kvtypes import KvType as KvType

LogLevel = Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]


class StoreUnavailable(WeirError):
    """The database did not answer (down, restarting, unreachable): try again later."""

    code = "store_unavailable"


@dataclass(frozen=True)
class FlowRecord:
    """One revision of a flow: its YAML source as written, and who manages it."""

    namespace: str
    flow_id: str
    revision: int
    source: str
    managed_by: str | None
    updated: datetime
    deleted: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    """The flow's labels as a map, kept beside the source so searches need not parse it."""


@dataclass(frozen=True)
class NamespaceRecord:
    name: str
    description: str | None
    variables: dict[str, Any]
    labels: dict[str, str]
    managed_by: str | None
    revision: int
    allowed_namespaces: tuple[str, ...] = ()
    """Other namespaces whose flows may reach this one's flows, KV pairs and files (an entry
    also allows the namespaces below it; ``*`` allows all)."""


@dataclass(frozen=True)
class KvEntry:
    namespace: str
    key: str
    type: KvType
    value: Any
    expires: datetime | None
    managed_by: str | None
    revision: int
    updated: datetime


@dataclass(frozen=True)
class SecretMeta:
    """What may be said of a secret: never its value."""

    namespace: str
    name: str
    fingerprint: str
    managed_by: str | None
    revision: int
    updated: datetime
    sealed_digest: str | None = None
    """``sha256:<hex>`` of the sealed text the value was last set from; None after a plain
    write."""


@dataclass(frozen=True)
class NamespaceFileRecord:
    namespace: str
    path: str
    size: int
    sha256: str
    managed_by: str | None
    revision: int
    updated: datetime


def namespace_file_path(namespace: str, path: str) -> str:
    """Where a namespace file lies in the internal storage."""
    return f"{namespace.replace('.', '/')}/_files/{path}"


def execution_storage_path(namespace: str, flow_id: str, execution_id: str) -> str:
    """The folder of the internal storage that holds an execution's files (inputs, outputs)."""
    return f"{namespace.replace('.', '/')}/{flow_id}/executions/{execution_id}/"


@dataclass(frozen=True)
class LogEntry:
    execution_id: str
    task_run_id: str | None
    task_id: str | None
    attempt: int | None
    level: LogLevel
    message: str
    at: datetime
    namespace: str = ""
    flow_id: str = ""


@dataclass(frozen=True)
class Metric:
    execution_id: str
    task_run_id: str | None
    task_id: str | None
    name: str
    type: Literal["counter", "timer"]
    value: float
    tags: dict[str, str] = field(default_factory=dict)
    at: datetime | None = None


class FlowRepository(Protocol):
    def create_flow_revision(
        self,
        namespace: str,
        flow_id: str,
        source: str,
        managed_by: str | None,
        labels: Mapping[str, str] | None = None,
    ) -> FlowRecord:
        """Save ``source`` as the next revision; the same source and manager as the latest
        saves nothing and returns the latest."""

    def read_flow(
        self, namespace: str, flow_id: str, revision: int | None = None
    ) -> FlowRecord | None:
        """The latest (or the given) revision; None when missing or deleted."""

    def list_flows(
        self, namespace_prefix: str | None = None, *, exact: bool = False
    ) -> list[FlowRecord]:
        """Latest revision of every live flow, ordered by namespace then id; with ``exact``,
        those of exactly ``namespace_prefix``, not of the namespaces below it."""

    def latest_revisions(self) -> list[tuple[str, str, int]]:
        """``(namespace, flow_id, revision)`` of every live flow's latest revision, ordered
        like :meth:`list_flows`: what a loop over the flows compares with what it has read."""

    def search_flows(
        self,
        namespace_prefix: str | None = None,
        text: str | None = None,
        labels: Mapping[str, str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[list[FlowRecord], int]:
        """A page of the latest live flows that match every filter, and how many match in all.
        ``text`` is looked for, case-insensitively, in the namespace, the id and the source."""

    def list_flow_revisions(self, namespace: str, flow_id: str) -> list[FlowRecord]: ...

    def purge_revisions(
        self, namespace: str, flow_id: str, keep: int | None, before: datetime | None
    ) -> int:
        """Delete the flow's revisions older than its ``keep`` newest (the latest always
        stays), saved at or before ``before`` when given, but none an unfinished execution
        runs; returns how many went."""

    def delete_flow(self, namespace: str, flow_id: str) -> bool: ...


@dataclass(frozen=True)
class FlowReference:
    """One reference of a flow revision to another flow."""

    kind: str
    """``subflow``, ``foreach`` or ``trigger``."""
    path: str
    """Where in the referencing flow's source, as a YAML path (``tasks[0]``)."""
    target_namespace: str
    target_flow_id: str


@dataclass
class FlowCaller:
    """A flow's latest revision and its references into the flows asked about."""

    record: FlowRecord
    references: list[FlowReference] = field(default_factory=list)


class FlowReferenceRepository(Protocol):
    """The index of who calls whom, written with each flow revision."""

    def list_callers(self, namespace: str, flow_id: str | None = None) -> list[FlowCaller]:
        """The live flows whose latest revision references ``namespace/flow_id`` (any flow
        of ``namespace`` when ``flow_id`` is None), ordered by namespace then id."""


class NamespaceRepository(Protocol):
    def update_namespace(self, record: NamespaceRecord) -> NamespaceRecord:
        """Create or replace; the revision returned is one more than the stored one."""

    def read_namespace(self, name: str) -> NamespaceRecord | None: ...

    def list_namespaces(self, prefix: str | None = None) -> list[NamespaceRecord]: ...

    def delete_namespace(self, name: str) -> bool: ...


@dataclass(frozen=True)
class ExecutionFilter:
    """More filters of an execution search, and where a keyset page starts."""

    labels: Mapping[str, str] = field(default_factory=dict)
    """Every one of these labels, with this value."""
    since: datetime | None = None
    """Started at or after this instant."""
    until: datetime | None = None
    """Started before this instant."""
    after_id: str | None = None
    """The last execution of the previous page: the page holds those that follow it, newest
    first. An offset grows slower with each page; this does not."""
    count_up_to: int | None = None
    """Stop counting past this many (the total is then this plus one): a count of a large
    store is most of a page's cost, and "over 10,000" says enough."""


@dataclass(frozen=True)
class LastRun:
    """A flow's latest execution, as a list of flows shows it."""

    execution_id: str
    state: State
    started: datetime


class ExecutionRepository(Protocol):
    def create_execution(self, execution: Execution) -> None: ...

    def read_execution(self, execution_id: str, for_update: bool = False) -> Execution | None:
        """``for_update`` locks the row until the unit ends (PostgreSQL); SQLite serializes."""

    def read_execution_state(self, execution_id: str) -> State | None:
        """The execution's state alone, without its task runs: cheap enough to poll."""

    def update_execution(
        self, execution: Execution, changed: Iterable[TaskRun], removed: Iterable[str] = (), *,
        row: bool = True,
    ) -> None:  # fmt: skip
        """Persist the execution row and the task runs in ``changed`` (inserted or updated);
        runs whose ids are in ``removed`` leave the execution. ``row=False``: only runs changed."""

    def list_executions(
        self,
        namespace: str | None = None,
        flow_id: str | None = None,
        states: Sequence[State] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Execution]:
        """Newest first; task runs included."""

    def search_executions(
        self,
        namespace_prefix: str | None = None,
        flow_id: str | None = None,
        states: Sequence[State] | None = None,
        reach: Sequence[str] = (),
        limit: int = 100,
        offset: int = 0,
        narrow: ExecutionFilter | None = None,
    ) -> tuple[list[Execution], int]:
        """A page of the executions that match every filter, newest first with their task runs,
        and how many match in all. ``namespace_prefix`` matches that namespace and those below
        it; ``reach`` keeps the executions in or below one of its namespaces (all when empty);
        ``narrow`` adds labels, a time range and a keyset cursor."""

    def list_last_runs(self, flows: Sequence[tuple[str, str]]) -> dict[tuple[str, str], LastRun]:
        """The latest execution of each (namespace, flow id) that has one."""

    def count_executions_by_state(self) -> dict[State, int]:
        """How many executions are in each state; states without any are left out."""

    def list_unfinished_execution_ids(self) -> list[str]:
        """Executions not in a terminal state (CREATED, QUEUED, RUNNING, PAUSED...)."""

    def count_running(self, namespace: str, flow_id: str) -> int:
        """Executions of the flow that hold a concurrency slot (RUNNING, PAUSED, KILLING)."""

    def oldest_queued(self, namespace: str, flow_id: str) -> str | None:
        """The id of the flow's execution that has waited longest in QUEUED, if any."""

    def count_by_flow(
        self,
        namespaces: Sequence[str],
        flows: Sequence[tuple[str, str]],
        states: Sequence[State] | None,
        narrow: ExecutionFilter,
    ) -> dict[tuple[str, str], int]:
        """Executions per (namespace, flow id) of the flows of ``namespaces`` (exactly those)
        and of ``flows``, in ``states`` (any when None), started within ``narrow``'s dates;
        a flow without any is absent."""

    def delete_execution(self, execution_id: str) -> bool: ...


class LogRepository(Protocol):
    def create_logs(self, entries: Sequence[LogEntry]) -> None: ...

    def list_logs(
        self,
        execution_id: str,
        min_level: LogLevel = "TRACE",
        after: int = 0,
        limit: int | None = None,
    ) -> list[tuple[int, LogEntry]]:
        """Entries in order with their sequence number; ``after`` skips those already read,
        ``limit`` stops after that many."""

    def delete_logs(self, execution_id: str, levels: Sequence[LogLevel] = ()) -> int:
        """Delete the execution's log lines (only those of ``levels`` when given)."""


class MetricRepository(Protocol):
    def create_metrics(self, metrics: Sequence[Metric]) -> None: ...

    def list_metrics(self, execution_id: str) -> list[Metric]: ...

    def delete_metrics(self, execution_id: str) -> int: ...


class KvRepository(Protocol):
    def update_kv(
        self,
        namespace: str,
        key: str,
        value: Any,
        type: KvType,
        expires: datetime | None,
        managed_by: str | None = None,
    ) -> KvEntry: ...

    def read_kv(self, namespace: str, key: str) -> KvEntry | None:
        """The entry of exactly this namespace; None when missing or expired."""

    def list_kv(self, namespace: str) -> list[KvEntry]: ...

    def delete_kv(self, namespace: str, key: str) -> bool: ...

    def list_kv_keys(self, namespace: str, expired_only: bool = False) -> list[str]:
        """Keys stored in ``namespace``, expired ones included (only those with the flag)."""


class SecretRepository(Protocol):
    def update_secret(
        self,
        namespace: str,
        name: str,
        value: str,
        managed_by: str | None = None,
        sealed_digest: str | None = None,
    ) -> SecretMeta:
        """Encrypt and store ``value`` (AES-GCM); the fingerprint is a keyed hash of it.
        ``sealed_digest`` is recorded when the value came from a sealed one, else cleared."""

    def read_secret_value(self, namespace: str, name: str) -> str | None:
        """The decrypted value of exactly this namespace, for the engine only."""

    def read_secret_meta(self, namespace: str, name: str) -> SecretMeta | None:
        """What may be said of the secret of exactly this namespace; None when missing."""

    def list_secrets(self, namespace: str) -> list[SecretMeta]: ...

    def delete_secret(self, namespace: str, name: str) -> bool: ...


class NamespaceFileRepository(Protocol):
    """What is known of each namespace file; its bytes are in ``FileStorage`` at
    ``namespace_file_path(namespace, path)``."""

    def update_namespace_file(
        self, namespace: str, path: str, size: int, sha256: str, managed_by: str | None = None
    ) -> NamespaceFileRecord: ...

    def read_namespace_file(self, namespace: str, path: str) -> NamespaceFileRecord | None: ...

    def list_namespace_files(
        self, namespace: str, prefix: str | None = None
    ) -> list[NamespaceFileRecord]: ...

    def delete_namespace_file(self, namespace: str, path: str) -> bool: ...


@dataclass(frozen=True)
class TakenCommand:
    seq: int
    execution_id: str
    kind: str
    payload: Any


class CommandRepository(Protocol):
    """Commands for executors in other processes (start, kill, resume, restart), in order."""

    def create_command(self, execution_id: str, kind: str, payload: Any = None) -> None: ...

    def take_commands(self, limit: int = 100, owner: str | None = None) -> list[TakenCommand]:
        """Up to ``limit`` waiting commands, oldest first, left in place until
        ``delete_commands`` (in the transaction that applies them). With ``owner``: only
        commands for executions that executor holds."""

    def delete_commands(self, seqs: Sequence[int]) -> None: ...


class Repositories(Protocol):
    flows: FlowRepository
    namespaces: NamespaceRepository
    executions: ExecutionRepository
    logs: LogRepository
    metrics: MetricRepository
    kv: KvRepository
    secrets: SecretRepository
    namespace_files: NamespaceFileRepository
    commands: CommandRepository
    triggers: TriggerRepository
    work: WorkRepository
    leases: LeaseRepository
    references: FlowReferenceRepository


class FileStorage(Protocol):
    """Internal storage: files addressed by ``kestra:///namespace/path/...`` URIs.

    A folder by default; the interface is small enough for a bucket to implement it.
    """

    def put(self, path: str, data: bytes | BinaryIO) -> str:
        """Store under ``path`` (relative, '/'-separated) and return its URI."""

    def open(self, uri: str) -> BinaryIO:
        """Raises FileNotFoundError naming the URI when absent."""

    def exists(self, uri: str) -> bool: ...

    def size(self, uri: str) -> int: ...

    def delete_prefix(self, path: str) -> int:
        """Delete everything under ``path``; returns how many files went."""

    def list(self, path: str) -> Iterator[str]:
        """URIs of the files under ``path``."""


class Store(Protocol):
    files: FileStorage

    def unit(self, read_only: bool = False) -> AbstractContextManager[Repositories]:
        """A transaction: commits when the block ends normally, rolls back on an exception.

        A ``read_only`` unit writes nothing, so it need not wait for writers (SQLite). Raises
        StoreUnavailable when the database cannot be reached or drops the connection."""

    def ping(self) -> None:
        """Raise when the database does not answer a trivial query."""

    def close(self) -> None: ...
