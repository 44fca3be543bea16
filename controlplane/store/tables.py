"""The tables, as SQLModel classes (``FlowRow``…), apart from the ports' records (``FlowRecord``…).

Repositories talk to them through SQLAlchemy Core (``FLOWS``, ``EXECUTIONS``…), never through
tracked ORM objects: the engine writes after every step and the tracking would cost more than
the write. ``migrations/`` creates the same schema; a test checks the two agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from controlplane.store.columns import Json, UtcDateTime

# A metadata of our own, so the tables and their migrations stay apart from any other SQLModel.
STORE_METADATA = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    }
)

# SQLite autoincrements only an INTEGER PRIMARY KEY.
Sequence = BigInteger().with_variant(Integer(), "sqlite")


class StoreTable(SQLModel):
    metadata = STORE_METADATA


class NamespaceRow(StoreTable, table=True):
    __tablename__ = "namespaces"

    name: str = Field(primary_key=True, sa_type=String())
    description: str | None = Field(default=None, sa_type=Text())
    variables: dict[str, Any] = Field(sa_column=Column(Json, nullable=False))
    labels: dict[str, str] = Field(sa_column=Column(Json, nullable=False))
    managed_by: str | None = Field(default=None, sa_type=String())
    revision: int
    updated: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    allowed_namespaces: list[str] = Field(
        sa_column=Column(Json, nullable=False, server_default="[]")
    )
    """Other namespaces whose flows may reach this one's flows, KV pairs and files."""


class FlowRow(StoreTable, table=True):
    """One revision of a flow; deleting a flow adds a revision marked ``deleted``."""

    __tablename__ = "flows"
    __table_args__ = (
        UniqueConstraint("namespace", "flow_id", "revision", name="uq_flows_revision"),
        # Exactly one latest revision per flow, and the index that lists them.
        Index(
            "ix_flows_latest",
            "namespace",
            "flow_id",
            unique=True,
            sqlite_where=text("latest"),
            postgresql_where=text("latest"),
        ),
        # The live flows: what searches count and list, read from the index alone.
        Index(
            "ix_flows_live",
            "namespace",
            "flow_id",
            sqlite_where=text("latest AND NOT deleted"),
            postgresql_where=text("latest AND NOT deleted"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    namespace: str = Field(sa_type=String())
    flow_id: str = Field(sa_type=String())
    revision: int
    source: str = Field(sa_type=Text())
    labels: dict[str, str] = Field(
        sa_column=Column(Json, nullable=False, server_default=text("'{}'"))
    )
    managed_by: str | None = Field(default=None, sa_type=String())
    deleted: bool = False
    latest: bool = True
    updated: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class FlowReferenceRow(StoreTable, table=True):
    """A revision's reference to another flow (Subflow, ForEachItem, Flow trigger): the index
    of who calls whom, kept with the revision it was read from."""

    __tablename__ = "flow_references"
    __table_args__ = (
        Index("ix_flow_references_target", "target_namespace", "target_flow_id"),
        Index("ix_flow_references_source", "namespace", "flow_id", "revision"),
    )

    id: int | None = Field(default=None, primary_key=True)
    namespace: str = Field(sa_type=String())
    flow_id: str = Field(sa_type=String())
    revision: int
    target_namespace: str = Field(sa_type=String())
    target_flow_id: str = Field(sa_type=String())
    kind: str = Field(sa_type=String())
    path: str = Field(sa_type=String())


class ExecutionRow(StoreTable, table=True):
    """An execution; ``document`` is ``Execution.to_dict()`` without its task runs."""

    __tablename__ = "executions"
    __table_args__ = (
        Index("ix_executions_flow_state", "namespace", "flow_id", "state"),
        Index("ix_executions_start_date", "start_date"),
        Index("ix_executions_state", "state"),
    )

    id: str = Field(primary_key=True, sa_type=String())
    namespace: str = Field(sa_type=String())
    flow_id: str = Field(sa_type=String())
    flow_revision: int
    state: str = Field(sa_type=String())
    start_date: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    end_date: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    labels: dict[str, str] = Field(sa_column=Column(Json, nullable=False))
    document: dict[str, Any] = Field(sa_column=Column(Json, nullable=False))


class TaskRunRow(StoreTable, table=True):
    """A task run; ``ordinal`` is its place in the execution, fixed when it is first written."""

    __tablename__ = "task_runs"
    __table_args__ = (Index("ix_task_runs_execution", "execution_id", "ordinal"),)

    id: str = Field(primary_key=True, sa_type=String())
    execution_id: str = Field(
        sa_column=Column(String(), ForeignKey("executions.id", ondelete="CASCADE"), nullable=False)
    )
    ordinal: int
    task_id: str = Field(sa_type=String())
    state: str = Field(sa_type=String())
    document: dict[str, Any] = Field(sa_column=Column(Json, nullable=False))


class LogRow(StoreTable, table=True):
    __tablename__ = "logs"
    __table_args__ = (Index("ix_logs_execution", "execution_id", "seq"),)

    seq: int | None = Field(
        default=None, sa_column=Column(Sequence, primary_key=True, autoincrement=True)
    )
    execution_id: str = Field(sa_type=String())
    namespace: str = Field(sa_type=String())
    flow_id: str = Field(sa_type=String())
    task_run_id: str | None = Field(default=None, sa_type=String())
    task_id: str | None = Field(default=None, sa_type=String())
    attempt: int | None = None
    level: str = Field(sa_type=String())
    level_no: int = Field(sa_type=SmallInteger())
    message: str = Field(sa_type=Text())
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class MetricRow(StoreTable, table=True):
    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_execution", "execution_id", "seq"),)

    seq: int | None = Field(
        default=None, sa_column=Column(Sequence, primary_key=True, autoincrement=True)
    )
    execution_id: str = Field(sa_type=String())
    task_run_id: str | None = Field(default=None, sa_type=String())
    task_id: str | None = Field(default=None, sa_type=String())
    name: str = Field(sa_type=String())
    type: str = Field(sa_type=String())
    value: float = Field(sa_type=Float())
    tags: dict[str, str] = Field(sa_column=Column(Json, nullable=False))
    at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class KvRow(StoreTable, table=True):
    __tablename__ = "kv"

    namespace: str = Field(primary_key=True, sa_type=String())
    key: str = Field(primary_key=True, sa_type=String())
    type: str = Field(sa_type=String())
    value: Any = Field(sa_column=Column(Json, nullable=False))
    expires: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    managed_by: str | None = Field(default=None, sa_type=String())
    revision: int
    updated: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class SecretRow(StoreTable, table=True):
    """A secret, AES-GCM encrypted; ``fingerprint`` is a keyed hash that reveals nothing."""

    __tablename__ = "secrets"

    namespace: str = Field(primary_key=True, sa_type=String())
    name: str = Field(primary_key=True, sa_type=String())
    ciphertext: bytes = Field(sa_type=LargeBinary())
    nonce: bytes = Field(sa_type=LargeBinary())
    fingerprint: str = Field(sa_type=String())
    managed_by: str | None = Field(default=None, sa_type=String())
    revision: int
    updated: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    sealed_digest: str | None = Field(default=None, sa_type=String())
    """The digest of the sealed text the value was set from; NULL after a plain write."""


class NamespaceFileRow(StoreTable, table=True):
    """What is known of a namespace file; its bytes are in the file storage."""

    __tablename__ = "namespace_files"

    namespace: str = Field(primary_key=True, sa_type=String())
    path: str = Field(primary_key=True, sa_type=String())
    size: int = Field(sa_type=BigInteger())
    sha256: str = Field(sa_type=String())
    managed_by: str | None = Field(default=None, sa_type=String())
    revision: int
    updated: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class TokenRow(StoreTable, table=True):
    """An API token; ``digest`` is the SHA-256 of its secret, never the secret."""

    __tablename__ = "api_tokens"

    id: str = Field(primary_key=True, sa_type=String())
    name: str = Field(sa_type=String(), unique=True)
    digest: str = Field(sa_type=String(), unique=True)
    scope: str = Field(sa_type=String())
    namespaces: list[str] = Field(sa_column=Column(Json, nullable=False))
    created: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    expires: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    revoked: bool = False


class CommandRow(StoreTable, table=True):
    """A command for an executor in another process, taken once."""

    __tablename__ = "commands"

    seq: int | None = Field(
        default=None, sa_column=Column(Sequence, primary_key=True, autoincrement=True)
    )
    execution_id: str = Field(sa_type=String())
    kind: str = Field(sa_type=String())
    payload: Any = Field(default=None, sa_column=Column(Json, nullable=True))
    created: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class TriggerStateRow(StoreTable, table=True):
    """What a scheduler remembers of one trigger: next and last slot, a backfill, a lock."""

    __tablename__ = "trigger_states"

    namespace: str = Field(primary_key=True, sa_type=String())
    flow_id: str = Field(primary_key=True, sa_type=String())
    trigger_id: str = Field(primary_key=True, sa_type=String())
    document: dict[str, Any] = Field(sa_column=Column(Json, nullable=False))
    updated: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class TriggerFireRow(StoreTable, table=True):
    """One firing of a trigger (a schedule's slot, an upstream execution); its key is unique, so
    two schedulers that decide the same firing create one execution."""

    __tablename__ = "trigger_fires"
    __table_args__ = (Index("ix_trigger_fires_created", "created"),)

    key: str = Field(primary_key=True, sa_type=String())
    execution_id: str = Field(sa_type=String())
    created: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class ExecutionEndRow(StoreTable, table=True):
    """An execution that ended, written in the transaction that ended it, until the flow
    triggers have looked at it."""

    __tablename__ = "execution_ends"

    seq: int | None = Field(
        default=None, sa_column=Column(Sequence, primary_key=True, autoincrement=True)
    )
    execution_id: str = Field(sa_type=String())
    created: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class ExecutionLeaseRow(StoreTable, table=True):
    """Which executor advances an unfinished execution, and until when it may without renewing."""

    __tablename__ = "execution_leases"
    __table_args__ = (Index("ix_execution_leases_owner", "owner"),)

    execution_id: str = Field(primary_key=True, sa_type=String())
    owner: str | None = Field(default=None, sa_type=String())
    lease_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class WorkRow(StoreTable, table=True):
    """One attempt of a runnable task, from queued through claimed (leased to a worker) to done.

    ``id`` is ``<task run id>:<attempt>``: an attempt is queued once however often an executor
    decides it."""

    __tablename__ = "work_queue"
    __table_args__ = (
        Index("ix_work_queue_claim", "state", "worker_group", "created"),
        Index("ix_work_queue_execution", "execution_id"),
    )

    id: str = Field(primary_key=True, sa_type=String())
    execution_id: str = Field(sa_type=String())
    task_run_id: str = Field(sa_type=String())
    attempt: int
    worker_group: str | None = Field(default=None, sa_type=String())
    state: str = Field(sa_type=String())
    owner: str | None = Field(default=None, sa_type=String())
    lease_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    kill: bool = False
    payload: dict[str, Any] = Field(sa_column=Column(Json, nullable=False))
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(Json, nullable=True))
    created: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


def _table(name: str) -> Table:
    return STORE_METADATA.tables[name]


NAMESPACES = _table("namespaces")
FLOWS = _table("flows")
FLOW_REFERENCES = _table("flow_references")
EXECUTIONS = _table("executions")
TASK_RUNS = _table("task_runs")
LOGS = _table("logs")
METRICS = _table("metrics")
KV = _table("kv")
SECRETS = _table("secrets")
NAMESPACE_FILES = _table("namespace_files")
TOKENS = _table("api_tokens")
COMMANDS = _table("commands")
TRIGGER_STATES = _table("trigger_states")
TRIGGER_FIRES = _table("trigger_fires")
EXECUTION_ENDS = _table("execution_ends")
EXECUTION_LEASES = _table("execution_leases")
WORK_QUEUE = _table("work_queue")
