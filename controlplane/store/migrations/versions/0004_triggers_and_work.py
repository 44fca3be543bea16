"""Triggers and scale-out: trigger state, firings, ended executions, execution leases, work queue.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def moment(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "trigger_states",
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("flow_id", sa.String(), nullable=False),
        sa.Column("trigger_id", sa.String(), nullable=False),
        sa.Column("document", JSON, nullable=False),
        moment("updated"),
        sa.PrimaryKeyConstraint("namespace", "flow_id", "trigger_id", name="pk_trigger_states"),
    )
    op.create_table(
        "trigger_fires",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("execution_id", sa.String(), nullable=False),
        moment("created"),
        sa.PrimaryKeyConstraint("key", name="pk_trigger_fires"),
    )
    op.create_index("ix_trigger_fires_created", "trigger_fires", ["created"])
    op.create_table(
        "execution_ends",
        sa.Column("seq", SEQUENCE, autoincrement=True, nullable=False),
        sa.Column("execution_id", sa.String(), nullable=False),
        moment("created"),
        sa.PrimaryKeyConstraint("seq", name="pk_execution_ends"),
    )
    op.create_table(
        "execution_leases",
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=True),
        moment("lease_until", nullable=True),
        sa.PrimaryKeyConstraint("execution_id", name="pk_execution_leases"),
    )
    op.create_index("ix_execution_leases_owner", "execution_leases", ["owner"])
    op.create_table(
        "work_queue",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("task_run_id", sa.String(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("worker_group", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=True),
        moment("lease_until", nullable=True),
        sa.Column("kill", sa.Boolean(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("result", JSON, nullable=True),
        moment("created"),
        sa.PrimaryKeyConstraint("id", name="pk_work_queue"),
    )
    op.create_index("ix_work_queue_claim", "work_queue", ["state", "worker_group", "created"])
    op.create_index("ix_work_queue_execution", "work_queue", ["execution_id"])


def downgrade() -> None:
    op.drop_table("work_queue")
    op.drop_table("execution_leases")
    op.drop_table("execution_ends")
    op.drop_index("ix_trigger_fires_created", "trigger_fires")
    op.drop_table("trigger_fires")
    op.drop_table("trigger_states")
