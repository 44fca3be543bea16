"""The control plane: flow labels, namespace files, API tokens, and executor commands.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def moment(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column(
        "flows", sa.Column("labels", JSON, nullable=False, server_default=sa.text("'{}'"))
    )
    op.create_table(
        "namespace_files",
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("managed_by", sa.String(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        moment("updated"),
        sa.PrimaryKeyConstraint("namespace", "path", name="pk_namespace_files"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("namespaces", JSON, nullable=False),
        moment("created"),
        moment("expires", nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("digest"),
    )
    op.create_table(
        "commands",
        sa.Column("seq", SEQUENCE, autoincrement=True, nullable=False),
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("payload", JSON, nullable=True),
        moment("created"),
        sa.PrimaryKeyConstraint("seq", name="pk_commands"),
    )


def downgrade() -> None:
    for table in ("commands", "api_tokens", "namespace_files"):
        op.drop_table(table)
    with op.batch_alter_table("flows") as batch:
        batch.drop_column("labels")
