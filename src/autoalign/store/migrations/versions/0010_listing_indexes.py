"""Indexes for every column a `Store` query filters on, and `artifacts.preview` for listings.

Lookups by judge reply (`judgments.judge_artifact_id`), by critic report (`flaws.found_by_id`),
by critic (`flaws.critic`, `flaws.critic_version`), by stage (`artifacts.stage`), of open review
requests (`review_requests.status`) and of a reviewer's labels (`review_labels.reviewer`)
scanned their tables; each now searches an index. The index a walk down the provenance DAG
searches (`ix_provenance_edges_parent`) now holds the child id too, so each step of the walk reads
the index alone (about twice as fast on SQLite). `artifacts.preview` holds the first 200
characters of `content_text`, filled here for existing rows, so that `autoalign show artifacts`
prints a preview without reading any artifact's content.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PREVIEW_CHARS = 200
"""`_schema.PREVIEW_CHARS` when this revision was written (a revision never changes)."""

_INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ix_artifacts_stage", "artifacts", ("stage",)),
    ("ix_flaws_found_by_id", "flaws", ("found_by_id",)),
    ("ix_flaws_critic", "flaws", ("critic", "critic_version")),
    ("ix_judgments_judge_artifact_id", "judgments", ("judge_artifact_id",)),
    ("ix_review_requests_status", "review_requests", ("status",)),
    ("ix_review_labels_reviewer", "review_labels", ("reviewer",)),
)


def upgrade() -> None:
    # A nullable column is a plain ALTER TABLE ... ADD COLUMN on both databases (no rebuild).
    op.add_column("artifacts", sa.Column("preview", sa.String(length=_PREVIEW_CHARS),
                                         nullable=True))
    op.execute(f"UPDATE artifacts SET preview = substr(content_text, 1, {_PREVIEW_CHARS})")
    for name, table, columns in _INDEXES:
        op.create_index(name, table, list(columns))
    op.drop_index("ix_provenance_edges_parent", table_name="provenance_edges")
    op.create_index("ix_provenance_edges_parent", "provenance_edges", ["parent_id", "child_id"])


def downgrade() -> None:
    op.drop_index("ix_provenance_edges_parent", table_name="provenance_edges")
    op.create_index("ix_provenance_edges_parent", "provenance_edges", ["parent_id"])
    for name, table, _columns in _INDEXES:
        op.drop_index(name, table_name=table)
    # SQLite (3.35 and later) drops an unindexed column in place; no table is rebuilt, so the
    # many tables that reference `artifacts` are left alone.
    op.drop_column("artifacts", "preview")
