"""Record which model calls each step awaited: the `step_calls` table.

Each row names a step's artifact, the ledger step key of a call the step awaited, and a call of
the same step that had finished before that call was issued (NULL for none). Together with the
provenance edges it is the run's dependency graph (`autoalign.store.critical_path`). Runs made
before it have no rows: their calls count as unattached.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "step_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("call_key", sa.String(length=300), nullable=False),
        sa.Column("after_key", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"], name=op.f("fk_step_calls_artifact_id_artifacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_calls")),
    )
    op.create_index(op.f("ix_step_calls_artifact_id"), "step_calls", ["artifact_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_step_calls_artifact_id"), table_name="step_calls")
    op.drop_table("step_calls")
