"""The index of who calls whom: each flow revision's references to other flows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "flow_references",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("flow_id", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("target_namespace", sa.String(), nullable=False),
        sa.Column("target_flow_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_flow_references"),
    )
    op.create_index(
        "ix_flow_references_target",
        "flow_references",
        ["target_namespace", "target_flow_id"],
    )
    op.create_index(
        "ix_flow_references_source",
        "flow_references",
        ["namespace", "flow_id", "revision"],
    )
    _index_latest_revisions()


def _index_latest_revisions() -> None:
    """Index the flows saved before this revision (their latest live revision)."""
    from controlplane.store.references import reference_rows

    connection = op.get_bind()
    flows = sa.table(
        "flows",
        sa.column("namespace"),
        sa.column("flow_id"),
        sa.column("revision"),
        sa.column("source"),
        sa.column("latest"),
        sa.column("deleted"),
    )
    query = sa.select(flows).where(flows.c.latest, ~flows.c.deleted)
    rows = []
    for flow in connection.execute(query):
        rows += reference_rows(flow.namespace, flow.flow_id, flow.revision, flow.source)
    if rows:
        connection.execute(sa.table("flow_references", *map(sa.column, rows[0])).insert(), rows)


def downgrade() -> None:
    op.drop_index("ix_flow_references_source", table_name="flow_references")
    op.drop_index("ix_flow_references_target", table_name="flow_references")
    op.drop_table("flow_references")
