"""Record who produced a claim: `claims.source`, `study` (a formula) or `pipeline` (an agent).

Existing claims are backfilled from their artifact: an `experiment_claim` artifact without a role
is `autoalign study`'s (it writes no role, having no model), so its claims are `study`; every other
claim (a paper's, or an agent's with a role) is `pipeline`. The column is then made NOT NULL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values of `autoalign.vocabulary.ClaimSource` and `Kind.EXPERIMENT_CLAIM` as of this
# revision, spelled out: a migration must not change when the vocabulary later does.
_STUDY, _PIPELINE, _EXPERIMENT_CLAIM = "study", "pipeline", "experiment_claim"


def upgrade() -> None:
    # Nullable first (a plain ADD COLUMN), backfilled, then NOT NULL (a rebuild on SQLite, in
    # batch mode; no other table references `claims`).
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("source", sa.String(length=20), nullable=True))
    claims = sa.table(
        "claims", sa.column("source", sa.String), sa.column("artifact_id", sa.Integer)
    )
    artifacts = sa.table(
        "artifacts",
        sa.column("id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("role", sa.String),
    )
    by_study = sa.select(artifacts.c.id).where(
        artifacts.c.kind == _EXPERIMENT_CLAIM, artifacts.c.role.is_(None)
    )
    op.execute(
        claims.update().values(
            source=sa.case((claims.c.artifact_id.in_(by_study), _STUDY), else_=_PIPELINE)
        )
    )
    with op.batch_alter_table("claims") as batch:
        batch.alter_column("source", existing_type=sa.String(length=20), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("source")
