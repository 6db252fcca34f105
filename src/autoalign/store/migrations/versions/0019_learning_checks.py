"""Expensive checks where they matter: `learning_checks`, one row per decision about a
retroactive deeper review of a load-bearing paper or a confused critic routed to a human.
Existing tables are untouched.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learning_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=30), nullable=False),
        sa.Column("descendants", sa.Integer(), nullable=True),
        sa.Column("case_name", sa.String(length=200), nullable=True),
        sa.Column("metric", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("request_artifact_id", sa.Integer(), nullable=True),
        sa.Column("review_request_id", sa.Integer(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["artifacts.id"],
                                name=op.f("fk_learning_checks_paper_id_artifacts")),
        sa.ForeignKeyConstraint(["request_artifact_id"], ["artifacts.id"],
                                name=op.f("fk_learning_checks_request_artifact_id_artifacts")),
        sa.ForeignKeyConstraint(["review_request_id"], ["review_requests.id"],
                                name=op.f("fk_learning_checks_review_request_id_review_requests")),
        sa.ForeignKeyConstraint(["report_id"], ["artifacts.id"],
                                name=op.f("fk_learning_checks_report_id_artifacts")),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"],
                                name=op.f("fk_learning_checks_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_checks")),
        sa.UniqueConstraint("report_id", name=op.f("uq_learning_checks_report_id")),
    )
    op.create_index(op.f("ix_learning_checks_kind"), "learning_checks", ["kind"])
    op.create_index(op.f("ix_learning_checks_paper_id"), "learning_checks", ["paper_id"])
    op.create_index(op.f("ix_learning_checks_run_id"), "learning_checks", ["run_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_learning_checks_run_id"), table_name="learning_checks")
    op.drop_index(op.f("ix_learning_checks_paper_id"), table_name="learning_checks")
    op.drop_index(op.f("ix_learning_checks_kind"), table_name="learning_checks")
    op.drop_table("learning_checks")
