"""Labels and critic versions: `labels` (the truth about subjects from the red team, human
reviews and later checks, with what each critic version said) and `critic_versions` (updates
made from labels, applied or rejected). Existing tables are untouched.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("source_ref", sa.String(length=300), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=True),
        sa.Column("flaw_id", sa.Integer(), nullable=True),
        sa.Column("flaw_type", sa.String(length=100), nullable=True),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("severe", sa.Boolean(), nullable=False),
        sa.Column("critic", sa.String(length=150), nullable=False),
        sa.Column("detected", sa.Boolean(), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("known_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["artifact_id"], ["artifacts.id"],
                                name=op.f("fk_labels_artifact_id_artifacts")),
        sa.ForeignKeyConstraint(["flaw_id"], ["flaws.id"], name=op.f("fk_labels_flaw_id_flaws")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.UniqueConstraint("source", "source_ref", "critic",
                            name=op.f("uq_labels_source")),
    )
    op.create_index(op.f("ix_labels_kind"), "labels", ["kind"])
    op.create_index(op.f("ix_labels_artifact_id"), "labels", ["artifact_id"])
    op.create_index(op.f("ix_labels_critic"), "labels", ["critic"])
    op.create_index("ix_labels_critic_known", "labels", ["critic", "known_at"])
    op.create_table(
        "critic_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("critic", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("base_version", sa.String(length=50), nullable=False),
        sa.Column("update", sa.String(length=30), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("params", JSON, nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["critic_versions.id"],
                                name="fk_critic_versions_parent_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_critic_versions")),
        sa.UniqueConstraint("critic", "version", name=op.f("uq_critic_versions_critic")),
    )
    op.create_index(op.f("ix_critic_versions_critic"), "critic_versions", ["critic"])


def downgrade() -> None:
    op.drop_index(op.f("ix_critic_versions_critic"), table_name="critic_versions")
    op.drop_table("critic_versions")
    op.drop_index("ix_labels_critic_known", table_name="labels")
    op.drop_index(op.f("ix_labels_critic"), table_name="labels")
    op.drop_index(op.f("ix_labels_artifact_id"), table_name="labels")
    op.drop_index(op.f("ix_labels_kind"), table_name="labels")
    op.drop_table("labels")
