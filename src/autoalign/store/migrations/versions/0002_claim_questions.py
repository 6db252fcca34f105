"""Link claims to testbed questions: `claims.testbed` and `claims.question_id`, indexed together.

Existing claims keep every value and get NULL in both columns (a claim about no testbed question).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: a plain ALTER TABLE ADD COLUMN where the database has it (SQLite included, so
    # the table is not rebuilt), a table rebuild only where an operation needs one.
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("testbed", sa.String(length=50), nullable=True))
        batch.add_column(sa.Column("question_id", sa.String(length=100), nullable=True))
        batch.create_index("ix_claims_testbed_question", ["testbed", "question_id"])


def downgrade() -> None:
    # Dropping columns rebuilds the table on SQLite; no other table references `claims`.
    with op.batch_alter_table("claims") as batch:
        batch.drop_index("ix_claims_testbed_question")
        batch.drop_column("question_id")
        batch.drop_column("testbed")
