"""Listings: runs and artifacts as summaries, read without their agendas or content.

A listing selects only the columns it returns (`load_only` would still build ORM objects, and a
later attribute access would silently load the rest); an artifact's preview comes from the
`preview` column written with it, so listing costs the same whatever the artifacts hold.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select

from ._records import ArtifactSummary, RunSummary
from ._schema import Artifact, Run
from ._session import StoreBase
from ._status import current_statuses

_ARTIFACT_COLUMNS = (
    Artifact.id, Artifact.run_id, Artifact.kind, Artifact.stage, Artifact.role, Artifact.model,
    Artifact.step_key, Artifact.title, Artifact.preview, Artifact.initial_status,
    Artifact.created_at,
)
_RUN_COLUMNS = (
    Run.id, Run.name, Run.status, Run.seed, Run.stop_reason, Run.created_at, Run.finished_at,
)


def _conditions(
    *,
    run_id: int | None,
    kind: str | None,
    stage: str | None,
    ids: Sequence[int] | None,
    before: int | None,
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a listing's filters (every filter given must hold)."""
    conditions: list[ColumnElement[bool]] = []
    if run_id is not None:
        conditions.append(Artifact.run_id == run_id)
    if kind is not None:
        conditions.append(Artifact.kind == kind)
    if stage is not None:
        conditions.append(Artifact.stage == stage)
    if ids is not None:
        conditions.append(Artifact.id.in_(list(ids)))
    if before is not None:
        conditions.append(Artifact.id < before)
    return conditions


class ListingsMixin(StoreBase):
    """Summaries of runs and artifacts for listings (the CLI's `status` and `show`)."""

    def run_summaries(self) -> list[RunSummary]:
        """Every run, oldest first, without its agenda."""
        with self._read() as s:
            rows = s.execute(select(*_RUN_COLUMNS).order_by(Run.id))
            return [
                RunSummary(id=r.id, name=r.name, status=r.status, seed=r.seed,
                           stop_reason=r.stop_reason, created_at=r.created_at,
                           finished_at=r.finished_at)
                for r in rows
            ]

    def artifact_summaries(
        self,
        *,
        run_id: int | None = None,
        kind: str | None = None,
        stage: str | None = None,
        ids: Sequence[int] | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> list[ArtifactSummary]:
        """Summaries of the artifacts matching every filter given, oldest first.

        Args:
            run_id: only this run's.
            kind: only this kind.
            stage: only this stage.
            ids: only these.
            before: only artifacts with a smaller id (to page back through a long listing).
            limit: at most this many: the most recent ones, still listed oldest first.
        """
        query = select(*_ARTIFACT_COLUMNS).where(
            *_conditions(run_id=run_id, kind=kind, stage=stage, ids=ids, before=before)
        )
        if limit is not None:
            query = query.order_by(Artifact.id.desc()).limit(limit)
        with self._read() as s:
            rows = sorted(s.execute(query), key=lambda r: int(r.id))
            statuses = current_statuses(s, [r.id for r in rows])
            return [
                ArtifactSummary(
                    id=r.id, run_id=r.run_id, kind=r.kind, stage=r.stage, role=r.role,
                    model=r.model, step_key=r.step_key, title=r.title, preview=r.preview or "",
                    status=statuses.get(r.id, r.initial_status), created_at=r.created_at,
                )
                for r in rows
            ]

    def count_artifacts(
        self,
        *,
        run_id: int | None = None,
        kind: str | None = None,
        stage: str | None = None,
        before: int | None = None,
    ) -> int:
        """How many artifacts match every filter given, counted in the database."""
        query = select(func.count(Artifact.id)).where(
            *_conditions(run_id=run_id, kind=kind, stage=stage, ids=None, before=before)
        )
        with self._read() as s:
            return int(s.scalar(query) or 0)
