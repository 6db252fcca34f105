"""Judgments name their model, a pairwise judgment's second item, and who judged.

`judgments.model` (the judge's `provider:model`), `judgments.other_artifact_id` (the second
item of a pairwise comparison; the first is `artifact_id`), `judgments.source` (`model` or
`human`) and `judgments.reviewer` (a human's name). Existing judgments keep every value, get
`source = 'model'` and NULL in the others; their model is the judge artifact's `model`.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("judgments") as batch:
        batch.add_column(sa.Column("model", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column(
            "other_artifact_id", sa.Integer(),
            sa.ForeignKey("artifacts.id", name="fk_judgments_other_artifact_id"), nullable=True,
        ))
        batch.add_column(sa.Column(
            "source", sa.String(length=20), nullable=False, server_default="model"
        ))
        batch.add_column(sa.Column("reviewer", sa.String(length=200), nullable=True))
    # Pairwise judgments are looked up by either item, human ones by source.
    op.create_index("ix_judgments_other_artifact_id", "judgments", ["other_artifact_id"])
    op.create_index("ix_judgments_source", "judgments", ["source"])
    # The model of earlier judgments is their judge artifact's.
    op.execute(
        "UPDATE judgments SET model = (SELECT artifacts.model FROM artifacts "
        "WHERE artifacts.id = judgments.judge_artifact_id) WHERE judge_artifact_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_judgments_source", table_name="judgments")
    op.drop_index("ix_judgments_other_artifact_id", table_name="judgments")
    with op.batch_alter_table("judgments") as batch:
        batch.drop_column("reviewer")
        batch.drop_column("source")
        batch.drop_column("other_artifact_id")
        batch.drop_column("model")
