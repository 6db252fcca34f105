"""The flaw library's retrievals: `flaw_retrievals` (which past flaws one prompt carried, from
which library version). Existing tables are untouched.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "flaw_retrievals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("step_key", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("library_version", sa.String(length=200), nullable=False),
        sa.Column("embedder", sa.String(length=200), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("hits", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"],
                                name=op.f("fk_flaw_retrievals_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flaw_retrievals")),
        sa.UniqueConstraint("run_id", "step_key", name=op.f("uq_flaw_retrievals_run_id")),
    )
    op.create_index(op.f("ix_flaw_retrievals_run_id"), "flaw_retrievals", ["run_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_flaw_retrievals_run_id"), table_name="flaw_retrievals")
    op.drop_table("flaw_retrievals")
