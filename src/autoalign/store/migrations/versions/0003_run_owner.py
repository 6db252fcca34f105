"""Record which process executes a run: `runs.owner` ("host:pid"), NULL when none does.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=200), nullable=True))


def downgrade() -> None:
    # Dropping a column rebuilds `runs` on SQLite; batch mode keeps the rows.
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("owner")
