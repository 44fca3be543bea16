"""An index of the live flows (latest revision, not deleted), so that counting or listing them
reads the index alone rather than every row.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

_LIVE = sa.text("latest AND NOT deleted")


def upgrade() -> None:
    op.create_index(
        "ix_flows_live",
        "flows",
        ["namespace", "flow_id"],
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    )


def downgrade() -> None:
    op.drop_index("ix_flows_live", table_name="flows")
