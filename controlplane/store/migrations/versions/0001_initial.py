"""The initial schema: namespaces, flows, executions, task runs, logs, metrics, KV, secrets.

Revision ID: 0001
Revises:
Create Date: 2025-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def moment(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "namespaces",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("variables", JSON, nullable=False),
        sa.Column("labels", JSON, nullable=False),
        sa.Column("managed_by", sa.String(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        moment("updated"),
        sa.PrimaryKeyConstraint("name", name="pk_namespaces"),
    )
    op.create_table(
        "flows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("flow_id", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("managed_by", sa.String(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("latest", sa.Boolean(), nullable=False),
        moment("updated"),
        sa.PrimaryKeyConstraint("id", name="pk_flows"),
        sa.UniqueConstraint("namespace", "flow_id", "revision", name="uq_flows_revision"),
    )
    op.create_index(
        "ix_flows_latest",
        "flows",
        ["namespace", "flow_id"],
        unique=True,
        sqlite_where=sa.text("latest"),
        postgresql_where=sa.text("latest"),
    )
    op.create_table(
        "executions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("flow_id", sa.String(), nullable=False),
        sa.Column("flow_revision", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        moment("start_date"),
        moment("end_date", nullable=True),
        sa.Column("labels", JSON, nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_executions"),
    )
    op.create_index("ix_executions_flow_state", "executions", ["namespace", "flow_id", "state"])
    op.create_index("ix_executions_start_date", "executions", ["start_date"])
    op.create_index("ix_executions_state", "executions", ["state"])
    op.create_table(
        "task_runs",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_task_runs"),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="fk_task_runs_execution_id_executions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_task_runs_execution", "task_runs", ["execution_id", "ordinal"])
    op.create_table(
        "logs",
        sa.Column("seq", SEQUENCE, autoincrement=True, nullable=False),
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("flow_id", sa.String(), nullable=False),
        sa.Column("task_run_id", sa.String(), nullable=True),
        sa.Column("task_id", sa.String(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("level_no", sa.SmallInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        moment("at"),
        sa.PrimaryKeyConstraint("seq", name="pk_logs"),
    )
    op.create_index("ix_logs_execution", "logs", ["execution_id", "seq"])
    op.create_table(
        "metrics",
        sa.Column("seq", SEQUENCE, autoincrement=True, nullable=False),
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("task_run_id", sa.String(), nullable=True),
        sa.Column("task_id", sa.String(), nullable=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("tags", JSON, nullable=False),
        moment("at", nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_metrics"),
    )
    op.create_index("ix_metrics_execution", "metrics", ["execution_id", "seq"])
    op.create_table(
        "kv",
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("value", JSON, nullable=False),
        moment("expires", nullable=True),
        sa.Column("managed_by", sa.String(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        moment("updated"),
        sa.PrimaryKeyConstraint("namespace", "key", name="pk_kv"),
    )
    op.create_table(
        "secrets",
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("managed_by", sa.String(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        moment("updated"),
        sa.PrimaryKeyConstraint("namespace", "name", name="pk_secrets"),
    )


def downgrade() -> None:
    for index, table in (
        ("ix_metrics_execution", "metrics"),
        ("ix_logs_execution", "logs"),
        ("ix_task_runs_execution", "task_runs"),
        ("ix_executions_state", "executions"),
        ("ix_executions_start_date", "executions"),
        ("ix_executions_flow_state", "executions"),
        ("ix_flows_latest", "flows"),
    ):
        op.drop_index(index, table_name=table)
    for table in ("secrets", "kv", "metrics", "logs", "task_runs", "executions", "flows"):
        op.drop_table(table)
    op.drop_table("namespaces")
