"""Record each request to a provider before it is sent: the `llm_attempts` table.

A row is written as `pending` before a request goes out and finished after (answered, failed,
lost), so requests in flight when a process is killed, or that hang, still count against the
budget. Existing ledger rows are left as they are; their requests all finished.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "llm_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=50), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("step_key", sa.String(length=300), nullable=True),
        sa.Column("cache_key", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("est_tokens", sa.Integer(), nullable=False),
        sa.Column("est_cost_usd", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"], ["llm_calls.id"], name=op.f("fk_llm_attempts_call_id_llm_calls")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_llm_attempts_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_attempts")),
    )
    op.create_index(op.f("ix_llm_attempts_run_id"), "llm_attempts", ["run_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_llm_attempts_run_id"), table_name="llm_attempts")
    op.drop_table("llm_attempts")
