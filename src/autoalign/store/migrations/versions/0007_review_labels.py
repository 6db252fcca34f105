"""Store each human decision on a review request: the `review_labels` table.

One row per decision (two reviewers on one request are two rows), naming the request, the
artifact decided on, optionally the flaw, the decision (confirm, dismiss, unsure), a comment, a
corrected severity, the reviewer and the time. Existing review requests keep their rows.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXED = ("request_id", "artifact_id", "flaw_id")


def upgrade() -> None:
    op.create_table(
        "review_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("flaw_id", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("corrected_severity", sa.String(length=20), nullable=True),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["review_requests.id"],
            name=op.f("fk_review_labels_request_id_review_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"], name=op.f("fk_review_labels_artifact_id_artifacts")
        ),
        sa.ForeignKeyConstraint(
            ["flaw_id"], ["flaws.id"], name=op.f("fk_review_labels_flaw_id_flaws")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_labels")),
    )
    for column in _INDEXED:
        op.create_index(op.f(f"ix_review_labels_{column}"), "review_labels", [column])


def downgrade() -> None:
    for column in _INDEXED:
        op.drop_index(op.f(f"ix_review_labels_{column}"), table_name="review_labels")
    op.drop_table("review_labels")
