"""Keep running totals of each run's spending: the `run_budgets` table.

One row per run: tokens and USD spent by its ledger rows, estimates of its pending and lost
attempts, and reservations of asks in flight; a budget check reads this row instead of
re-totalling the run's rows. Existing runs get their row computed from their rows (no
reservations: nothing is in flight during a migration).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_budgets",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("spent_tokens", sa.Integer(), nullable=False),
        sa.Column("spent_usd", sa.Float(), nullable=False),
        sa.Column("unseen_tokens", sa.Integer(), nullable=False),
        sa.Column("unseen_usd", sa.Float(), nullable=False),
        sa.Column("reserved_tokens", sa.Integer(), nullable=False),
        sa.Column("reserved_usd", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_run_budgets_run_id_runs")),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_budgets")),
    )
    op.execute(
        """
        INSERT INTO run_budgets (run_id, spent_tokens, spent_usd, unseen_tokens, unseen_usd,
                                 reserved_tokens, reserved_usd)
        SELECT runs.id,
               COALESCE((SELECT SUM(c.input_tokens + c.output_tokens) FROM llm_calls c
                         WHERE c.run_id = runs.id AND c.cache_hit = false), 0),
               COALESCE((SELECT SUM(c.cost_usd) FROM llm_calls c
                         WHERE c.run_id = runs.id AND c.cache_hit = false), 0.0),
               COALESCE((SELECT SUM(a.est_tokens) FROM llm_attempts a
                         WHERE a.run_id = runs.id AND a.status IN ('pending', 'lost')), 0),
               COALESCE((SELECT SUM(a.est_cost_usd) FROM llm_attempts a
                         WHERE a.run_id = runs.id AND a.status IN ('pending', 'lost')), 0.0),
               0, 0.0
        FROM runs
        """
    )


def downgrade() -> None:
    op.drop_table("run_budgets")
