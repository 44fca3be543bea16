"""Namespaces say which other namespaces may reach their flows, KV pairs and files.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("namespaces") as batch:
        batch.add_column(sa.Column("allowed_namespaces", JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("namespaces") as batch:
        batch.drop_column("allowed_namespaces")
