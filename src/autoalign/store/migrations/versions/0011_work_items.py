"""The shared work queue: the `work_items` table.

One row per unit of work (`project`: an agenda run; `sandbox`: one sandbox job), unique per
(kind, key), with its state, the worker holding its lease, the lease's end, the last heartbeat,
how often it was claimed, its result or error. Existing tables are untouched; runs gain the
status `queued` (text, no schema change).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# JSONB on PostgreSQL, JSON text elsewhere (as the models do).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "work_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_work_items_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_items")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_work_items_kind")),
    )
    op.create_index("ix_work_items_ready", "work_items", ["state", "kind", "id"])
    op.create_index(op.f("ix_work_items_run_id"), "work_items", ["run_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_work_items_run_id"), table_name="work_items")
    op.drop_index("ix_work_items_ready", table_name="work_items")
    op.drop_table("work_items")
