"""Record which critic found a flaw: `flaws.critic` and `flaws.critic_version`.

Existing flaws keep every value and get NULL in both columns (found before critics had ids).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode adds nullable columns with a plain ALTER TABLE (no rebuild on SQLite).
    with op.batch_alter_table("flaws") as batch:
        batch.add_column(sa.Column("critic", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("critic_version", sa.String(length=50), nullable=True))


def downgrade() -> None:
    # Dropping columns rebuilds the table on SQLite; no other table references `flaws`.
    with op.batch_alter_table("flaws") as batch:
        batch.drop_column("critic_version")
        batch.drop_column("critic")
