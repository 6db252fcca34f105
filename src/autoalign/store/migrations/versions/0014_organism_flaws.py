"""The red team's ground truth for model organisms of slop: `redteam_organism_flaws`.

One row per misbehaviour an organism committed (the run, the organism, the flaw type, the step
and artifact that carry it, the field, what it did), unique per (run, step, flaw type, field).
No critic reads it. Existing tables are untouched.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "redteam_organism_flaws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("organism", sa.String(length=100), nullable=False),
        sa.Column("flaw_type", sa.String(length=50), nullable=False),
        sa.Column("step_key", sa.String(length=300), nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_redteam_organism_flaws_run_id_runs")
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"],
            name=op.f("fk_redteam_organism_flaws_artifact_id_artifacts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redteam_organism_flaws")),
        sa.UniqueConstraint(
            "run_id", "step_key", "flaw_type", "field",
            name=op.f("uq_redteam_organism_flaws_run_id"),
        ),
    )
    op.create_index(
        op.f("ix_redteam_organism_flaws_run_id"), "redteam_organism_flaws", ["run_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_redteam_organism_flaws_run_id"), table_name="redteam_organism_flaws")
    op.drop_table("redteam_organism_flaws")
