"""Information screens between projects, and the reads they refused.

`information_screens`: one row per screen (the run, the screen's artifact, the two projects'
proposals, the question both attack, the reason); a lift is a status event on the screen's
artifact, so the row never changes. `screen_refusals`: one row per refused read (the screen,
the reading project, the artifact refused, where the read was tried and in which step), unique
per (screen, artifact, place, step). Existing tables are untouched.

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "information_screens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("project_a", sa.Integer(), nullable=False),
        sa.Column("project_b", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_information_screens_run_id_runs")
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"],
            name=op.f("fk_information_screens_artifact_id_artifacts"),
        ),
        sa.ForeignKeyConstraint(
            ["project_a"], ["artifacts.id"],
            name=op.f("fk_information_screens_project_a_artifacts"),
        ),
        sa.ForeignKeyConstraint(
            ["project_b"], ["artifacts.id"],
            name=op.f("fk_information_screens_project_b_artifacts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_information_screens")),
        sa.UniqueConstraint("artifact_id", name=op.f("uq_information_screens_artifact_id")),
    )
    op.create_index(
        op.f("ix_information_screens_run_id"), "information_screens", ["run_id"]
    )
    op.create_index(
        op.f("ix_information_screens_project_a"), "information_screens", ["project_a"]
    )
    op.create_index(
        op.f("ix_information_screens_project_b"), "information_screens", ["project_b"]
    )
    op.create_table(
        "screen_refusals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("screen_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("reader_id", sa.Integer(), nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("via", sa.String(length=50), nullable=False),
        sa.Column("step_key", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["screen_id"], ["information_screens.id"],
            name=op.f("fk_screen_refusals_screen_id_information_screens"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_screen_refusals_run_id_runs")
        ),
        sa.ForeignKeyConstraint(
            ["reader_id"], ["artifacts.id"], name=op.f("fk_screen_refusals_reader_id_artifacts")
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"],
            name=op.f("fk_screen_refusals_artifact_id_artifacts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screen_refusals")),
        sa.UniqueConstraint(
            "screen_id", "artifact_id", "via", "step_key",
            name=op.f("uq_screen_refusals_screen_id"),
        ),
    )
    op.create_index(op.f("ix_screen_refusals_screen_id"), "screen_refusals", ["screen_id"])
    op.create_index(op.f("ix_screen_refusals_run_id"), "screen_refusals", ["run_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_screen_refusals_run_id"), table_name="screen_refusals")
    op.drop_index(op.f("ix_screen_refusals_screen_id"), table_name="screen_refusals")
    op.drop_table("screen_refusals")
    op.drop_index(op.f("ix_information_screens_project_b"), table_name="information_screens")
    op.drop_index(op.f("ix_information_screens_project_a"), table_name="information_screens")
    op.drop_index(op.f("ix_information_screens_run_id"), table_name="information_screens")
    op.drop_table("information_screens")
