"""The tables, as SQLAlchemy Core tables (``FLOWS``, ``EXECUTIONS``…), apart from the ports'
records (``FlowRecord``…).

Repositories talk to them through SQLAlchemy Core, never through tracked ORM objects: the engine
writes after every step and the tracking would cost more than the write. (Declared as SQLModel
classes, the tables built a pydantic model each that nothing used, a third of a second of every
command that opens the store.) ``migrations/`` creates the same schema; a test checks the two
agree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
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

from controlplane.store.columns import Json, UtcDateTime

# A metadata of our own, so the tables and their migrations stay apart from any other.
STORE_METADATA = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    }
)

# SQLite autoincrements only an INTEGER PRIMARY KEY.
Sequence = BigInteger().with_variant(Integer(), "sqlite")


def _table(name: str, *items: Any) -> Table:
    return Table(name, STORE_METADATA, *items)


def _key(name: str, type_: Any = None) -> Column[Any]:
    """A column of the primary key."""
    return Column(name, type_ if type_ is not None else String(), primary_key=True)


def _required(name: str, type_: Any, *more: Any, **options: Any) -> Column[Any]:
    return Column(name, type_, *more, nullable=False, **options)


def _optional(name: str, type_: Any) -> Column[Any]:
    return Column(name, type_, nullable=True)


def _serial(name: str) -> Column[Any]:
    """An autoincremented primary key."""
    return Column(name, Sequence, primary_key=True, autoincrement=True)


NAMESPACES = _table(
    "namespaces",
    _key("name"),
    _optional("description", Text()),
    _required("variables", Json),
    _required("labels", Json),
    _optional("managed_by", String()),
    _required("revision", Integer()),
    _required("updated", UtcDateTime()),
    # Other namespaces whose flows may reach this one's flows, KV pairs and files.
    _required("allowed_namespaces", Json, server_default="[]"),
)

# One revision of a flow; deleting a flow adds a revision marked ``deleted``.
FLOWS = _table(
    "flows",
    Column("id", Integer(), primary_key=True),
    _required("namespace", String()),
    _required("flow_id", String()),
    _required("revision", Integer()),
    _required("source", Text()),
    _required("labels", Json, server_default=text("'{}'")),
    _optional("managed_by", String()),
    _required("deleted", Boolean()),
    _required("latest", Boolean()),
    _required("updated", UtcDateTime()),
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

# A revision's reference to another flow (Subflow, ForEachItem, Flow trigger): the index of
# who calls whom, kept with the revision it was read from.
FLOW_REFERENCES = _table(
    "flow_references",
    Column("id", Integer(), primary_key=True),
    _required("namespace", String()),
    _required("flow_id", String()),
    _required("revision", Integer()),
    _required("target_namespace", String()),
    _required("target_flow_id", String()),
    _required("kind", String()),
    _required("path", String()),
    Index("ix_flow_references_target", "target_namespace", "target_flow_id"),
    Index("ix_flow_references_source", "namespace", "flow_id", "revision"),
)

# An execution; ``document`` is ``Execution.to_dict()`` without its task runs.
EXECUTIONS = _table(
    "executions",
    _key("id"),
    _required("namespace", String()),
    _required("flow_id", String()),
    _required("flow_revision", Integer()),
    _required("state", String()),
    _required("start_date", UtcDateTime()),
    _optional("end_date", UtcDateTime()),
    _required("labels", Json),
    _required("document", Json),
    Index("ix_executions_flow_state", "namespace", "flow_id", "state"),
    Index("ix_executions_start_date", "start_date"),
    Index("ix_executions_state", "state"),
)

# A task run; ``ordinal`` is its place in the execution, fixed when it is first written.
TASK_RUNS = _table(
    "task_runs",
    _key("id"),
    _required("execution_id", String(), ForeignKey("executions.id", ondelete="CASCADE")),
    _required("ordinal", Integer()),
    _required("task_id", String()),
    _required("state", String()),
    _required("document", Json),
    Index("ix_task_runs_execution", "execution_id", "ordinal"),
)

LOGS = _table(
    "logs",
    _serial("seq"),
    _required("execution_id", String()),
    _required("namespace", String()),
    _required("flow_id", String()),
    _optional("task_run_id", String()),
    _optional("task_id", String()),
    _optional("attempt", Integer()),
    _required("level", String()),
    _required("level_no", SmallInteger()),
    _required("message", Text()),
    _required("at", UtcDateTime()),
    Index("ix_logs_execution", "execution_id", "seq"),
)

METRICS = _table(
    "metrics",
    _serial("seq"),
    _required("execution_id", String()),
    _optional("task_run_id", String()),
    _optional("task_id", String()),
    _required("name", String()),
    _required("type", String()),
    _required("value", Float()),
    _required("tags", Json),
    _optional("at", UtcDateTime()),
    Index("ix_metrics_execution", "execution_id", "seq"),
)

KV = _table(
    "kv",
    _key("namespace"),
    _key("key"),
    _required("type", String()),
    _required("value", Json),
    _optional("expires", UtcDateTime()),
    _optional("managed_by", String()),
    _required("revision", Integer()),
    _required("updated", UtcDateTime()),
)

# A secret, AES-GCM encrypted; ``fingerprint`` is a keyed hash that reveals nothing.
SECRETS = _table(
    "secrets",
    _key("namespace"),
    _key("name"),
    _required("ciphertext", LargeBinary()),
    _required("nonce", LargeBinary()),
    _required("fingerprint", String()),
    _optional("managed_by", String()),
    _required("revision", Integer()),
    _required("updated", UtcDateTime()),
    # The digest of the sealed text the value was set from; NULL after a plain write.
    _optional("sealed_digest", String()),
)

# What is known of a namespace file; its bytes are in the file storage.
NAMESPACE_FILES = _table(
    "namespace_files",
    _key("namespace"),
    _key("path"),
    _required("size", BigInteger()),
    _required("sha256", String()),
    _optional("managed_by", String()),
    _required("revision", Integer()),
    _required("updated", UtcDateTime()),
)

# An API token; ``digest`` is the SHA-256 of its secret, never the secret.
TOKENS = _table(
    "api_tokens",
    _key("id"),
    _required("name", String(), unique=True),
    _required("digest", String(), unique=True),
    _required("scope", String()),
    _required("namespaces", Json),
    _required("created", UtcDateTime()),
    _optional("expires", UtcDateTime()),
    _required("revoked", Boolean()),
)

# A command for an executor in another process, taken once.
COMMANDS = _table(
    "commands",
    _serial("seq"),
    _required("execution_id", String()),
    _required("kind", String()),
    _optional("payload", Json),
    _required("created", UtcDateTime()),
)

# What a scheduler remembers of one trigger: next and last slot, a backfill, a lock.
TRIGGER_STATES = _table(
    "trigger_states",
    _key("namespace"),
    _key("flow_id"),
    _key("trigger_id"),
    _required("document", Json),
    _required("updated", UtcDateTime()),
)

# One firing of a trigger (a schedule's slot, an upstream execution); its key is unique, so
# two schedulers that decide the same firing create one execution.
TRIGGER_FIRES = _table(
    "trigger_fires",
    _key("key"),
    _required("execution_id", String()),
    _required("created", UtcDateTime()),
    Index("ix_trigger_fires_created", "created"),
)

# An execution that ended, written in the transaction that ended it, until the flow triggers
# have looked at it.
EXECUTION_ENDS = _table(
    "execution_ends",
    _serial("seq"),
    _required("execution_id", String()),
    _required("created", UtcDateTime()),
)

# Which executor advances an unfinished execution, and until when it may without renewing.
EXECUTION_LEASES = _table(
    "execution_leases",
    _key("execution_id"),
    _optional("owner", String()),
    _optional("lease_until", UtcDateTime()),
    Index("ix_execution_leases_owner", "owner"),
)

# One attempt of a runnable task, from queued through claimed (leased to a worker) to done.
# ``id`` is ``<task run id>:<attempt>``: an attempt is queued once however often an executor
# decides it.
WORK_QUEUE = _table(
    "work_queue",
    _key("id"),
    _required("execution_id", String()),
    _required("task_run_id", String()),
    _required("attempt", Integer()),
    _optional("worker_group", String()),
    _required("state", String()),
    _optional("owner", String()),
    _optional("lease_until", UtcDateTime()),
    _required("kill", Boolean()),
    _required("payload", Json),
    _optional("result", Json),
    _required("created", UtcDateTime()),
    Index("ix_work_queue_claim", "state", "worker_group", "created"),
    Index("ix_work_queue_execution", "execution_id"),
)
