"""Initial schema: runs, artifacts and their events and provenance, the LLM ledger and cache,
flaws, judgments, claims and review requests.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A copy of `_schema.JsonType` as it was at this revision (a migration must not change when the
# models do): JSONB on PostgreSQL, JSON text elsewhere.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("agenda_digest", sa.String(length=64), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("budget_tokens", sa.Integer(), nullable=True),
        sa.Column("budget_usd", sa.Float(), nullable=True),
        _created_at(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_index(op.f("ix_runs_agenda_digest"), "runs", ["agenda_digest"])

    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("stage", sa.String(length=30), nullable=False),
        sa.Column("role", sa.String(length=50), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("prompt_digest", sa.String(length=64), nullable=True),
        sa.Column("step_key", sa.String(length=300), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("content_text", sa.Text(), nullable=False),
        sa.Column("content_json", JSON, nullable=True),
        sa.Column("initial_status", sa.String(length=20), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_artifacts_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifacts")),
        sa.UniqueConstraint("run_id", "step_key", name=op.f("uq_artifacts_run_id")),
    )
    op.create_index(op.f("ix_artifacts_kind"), "artifacts", ["kind"])
    op.create_index(op.f("ix_artifacts_run_id"), "artifacts", ["run_id"])

    op.create_table(
        "artifact_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"], name=op.f("fk_artifact_events_artifact_id_artifacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifact_events")),
    )
    op.create_index(op.f("ix_artifact_events_artifact_id"), "artifact_events", ["artifact_id"])

    op.create_table(
        "provenance_edges",
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"], ["artifacts.id"], name=op.f("fk_provenance_edges_child_id_artifacts")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["artifacts.id"], name=op.f("fk_provenance_edges_parent_id_artifacts")
        ),
        sa.PrimaryKeyConstraint("child_id", "parent_id", name=op.f("pk_provenance_edges")),
    )
    # Descendant walks join on parent_id; the primary key already serves child_id.
    op.create_index("ix_provenance_edges_parent", "provenance_edges", ["parent_id"])

    op.create_table(
        "llm_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=50), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("step_key", sa.String(length=300), nullable=True),
        sa.Column("cache_key", sa.String(length=64), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_s", sa.Float(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_llm_calls_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_calls")),
    )
    op.create_index(op.f("ix_llm_calls_run_id"), "llm_calls", ["run_id"])

    op.create_table(
        "llm_cache",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("request", JSON, nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("output", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_llm_cache")),
    )

    op.create_table(
        "flaws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("found_by_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"], name=op.f("fk_flaws_artifact_id_artifacts")
        ),
        sa.ForeignKeyConstraint(
            ["found_by_id"], ["artifacts.id"], name=op.f("fk_flaws_found_by_id_artifacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flaws")),
    )
    op.create_index(op.f("ix_flaws_artifact_id"), "flaws", ["artifact_id"])

    op.create_table(
        "judgments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("judge_artifact_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=50), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("decision", sa.String(length=30), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"], name=op.f("fk_judgments_artifact_id_artifacts")
        ),
        sa.ForeignKeyConstraint(
            ["judge_artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_judgments_judge_artifact_id_artifacts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judgments")),
    )
    op.create_index(op.f("ix_judgments_artifact_id"), "judgments", ["artifact_id"])

    op.create_table(
        "claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("effect", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"], name=op.f("fk_claims_artifact_id_artifacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
    )
    op.create_index(op.f("ix_claims_artifact_id"), "claims", ["artifact_id"])

    op.create_table(
        "review_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        _created_at(),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"], name=op.f("fk_review_requests_artifact_id_artifacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_requests")),
    )
    op.create_index(op.f("ix_review_requests_artifact_id"), "review_requests", ["artifact_id"])


def downgrade() -> None:
    # Children before parents; dropping a table drops its indexes.
    for table in (
        "review_requests",
        "claims",
        "judgments",
        "flaws",
        "llm_cache",
        "llm_calls",
        "provenance_edges",
        "artifact_events",
        "artifacts",
        "runs",
    ):
        op.drop_table(table)
