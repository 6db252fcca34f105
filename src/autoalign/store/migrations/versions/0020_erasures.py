"""Progressive log erasure: `erasures` (each artifact an erasure policy erased, with the
policy, its score, the original content's digest and size and the bytes freed, and each one it
refused, with the reason). Existing tables are untouched; an erasure itself only rewrites an
artifact's content columns.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("policy", sa.String(length=200), nullable=False),
        sa.Column("policy_digest", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(length=50), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("original_sha256", sa.String(length=64), nullable=True),
        sa.Column("original_bytes", sa.Integer(), nullable=True),
        sa.Column("bytes_freed", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"], name=op.f("fk_erasures_artifact_id_artifacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasures")),
    )
    op.create_index("ix_erasures_artifact", "erasures", ["artifact_id", "outcome"])


def downgrade() -> None:
    op.drop_index("ix_erasures_artifact", table_name="erasures")
    op.drop_table("erasures")
