"""Red-team tables: experiments, the flaws they injected, and each critic's trial on each subject.

`redteam_experiments`: one row per experiment (name, unique; config and its digest; seed;
status; times). `redteam_injections`: one row per tampered subject (experiment, subject key,
the clean subject it came from, flaw type, where, method, the source artifact when the clean
subject was read from the database, the changed field, span, before, after, description),
unique per (experiment, subject). `redteam_trials`: one row per (experiment, subject, critic,
matcher), so a resumed experiment repeats nothing. Existing tables are untouched.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "redteam_experiments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("config_digest", sa.String(length=64), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redteam_experiments")),
        sa.UniqueConstraint("name", name=op.f("uq_redteam_experiments_name")),
    )
    op.create_table(
        "redteam_injections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("subject_key", sa.String(length=300), nullable=False),
        sa.Column("clean_key", sa.String(length=300), nullable=False),
        sa.Column("flaw_type", sa.String(length=100), nullable=False),
        sa.Column("where", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("source_artifact_id", sa.Integer(), nullable=True),
        sa.Column("artifact_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=300), nullable=False),
        sa.Column("span_start", sa.Integer(), nullable=True),
        sa.Column("span_end", sa.Integer(), nullable=True),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["redteam_experiments.id"],
            name=op.f("fk_redteam_injections_experiment_id_redteam_experiments"),
        ),
        sa.ForeignKeyConstraint(
            ["source_artifact_id"], ["artifacts.id"],
            name=op.f("fk_redteam_injections_source_artifact_id_artifacts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redteam_injections")),
        sa.UniqueConstraint(
            "experiment_id", "subject_key", name=op.f("uq_redteam_injections_experiment_id")
        ),
    )
    op.create_index(
        op.f("ix_redteam_injections_experiment_id"), "redteam_injections", ["experiment_id"]
    )
    op.create_table(
        "redteam_trials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("subject_key", sa.String(length=300), nullable=False),
        sa.Column("critic", sa.String(length=150), nullable=False),
        sa.Column("detected", sa.Boolean(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("severe", sa.Boolean(), nullable=False),
        sa.Column("matcher", sa.String(length=20), nullable=False),
        sa.Column("findings", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["redteam_experiments.id"],
            name=op.f("fk_redteam_trials_experiment_id_redteam_experiments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redteam_trials")),
        sa.UniqueConstraint(
            "experiment_id", "subject_key", "critic", "matcher",
            name=op.f("uq_redteam_trials_experiment_id"),
        ),
    )
    op.create_index(op.f("ix_redteam_trials_experiment_id"), "redteam_trials", ["experiment_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_redteam_trials_experiment_id"), table_name="redteam_trials")
    op.drop_table("redteam_trials")
    op.drop_index(op.f("ix_redteam_injections_experiment_id"), table_name="redteam_injections")
    op.drop_table("redteam_injections")
    op.drop_table("redteam_experiments")
