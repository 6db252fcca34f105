"""Safety cases: `case_registrations` (the cases re-evaluated after every run and red-team
run of this database) and `case_snapshots` (every evaluation, immutable, as JSON). Existing
tables are untouched.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "case_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("redteam_report", sa.Text(), nullable=True),
        sa.Column("redteam_experiment", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_registrations")),
        sa.UniqueConstraint("name", name=op.f("uq_case_registrations_name")),
    )
    op.create_table(
        "case_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_name", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_snapshots")),
    )
    op.create_index(op.f("ix_case_snapshots_case_name"), "case_snapshots", ["case_name"])


def downgrade() -> None:
    op.drop_index(op.f("ix_case_snapshots_case_name"), table_name="case_snapshots")
    op.drop_table("case_snapshots")
    op.drop_table("case_registrations")
