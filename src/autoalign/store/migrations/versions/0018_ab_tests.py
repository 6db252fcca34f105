"""A/B tests of components: `ab_experiments` (one row per experiment: name, unique; config and
its digest; seed; status; tasks; when the sequential test stopped it and its statistic; times)
and `ab_outcomes` (one row per (experiment, task, arm): the task's order and seed, which arm
ran first, the flaw type, the arm's critic and view, whether it was right, flagged, detected,
its stated probability, any error and its findings), so a resumed experiment repeats nothing.
Existing tables are untouched.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ab_experiments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("config_digest", sa.String(length=64), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("tasks", sa.Integer(), nullable=False),
        sa.Column("stopped_after", sa.Integer(), nullable=True),
        sa.Column("stop_statistic", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ab_experiments")),
        sa.UniqueConstraint("name", name=op.f("uq_ab_experiments_name")),
    )
    op.create_table(
        "ab_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("task_key", sa.String(length=300), nullable=False),
        sa.Column("task_index", sa.Integer(), nullable=False),
        sa.Column("task_seed", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=1), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("flaw_type", sa.String(length=100), nullable=True),
        sa.Column("critic", sa.String(length=150), nullable=False),
        sa.Column("view", sa.String(length=100), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("detected", sa.Boolean(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("severe", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("findings", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["ab_experiments.id"],
            name=op.f("fk_ab_outcomes_experiment_id_ab_experiments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ab_outcomes")),
        sa.UniqueConstraint(
            "experiment_id", "task_key", "arm", name=op.f("uq_ab_outcomes_experiment_id"),
        ),
    )
    op.create_index(op.f("ix_ab_outcomes_experiment_id"), "ab_outcomes", ["experiment_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ab_outcomes_experiment_id"), table_name="ab_outcomes")
    op.drop_table("ab_outcomes")
    op.drop_table("ab_experiments")
