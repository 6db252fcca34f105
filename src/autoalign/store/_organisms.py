"""The red team's ground truth for model organisms of slop (`redteam_organism_flaws`).

Written by `autoalign.redteam` while an organism misbehaves and read by it once the critics
have run; nothing in the pipeline, the critics or the prompts reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ._schema import Artifact, OrganismFlaw
from ._session import StoreBase


@dataclass(frozen=True, kw_only=True)
class OrganismFlawRecord:
    """One misbehaviour an organism committed: where it is and what it did."""

    id: int
    run_id: int
    organism: str
    flaw_type: str
    step_key: str
    artifact_id: int | None
    """The artifact carrying it; None while the step's artifact is not stored yet."""
    field: str
    detail: str
    created_at: datetime


def _record(row: OrganismFlaw) -> OrganismFlawRecord:
    return OrganismFlawRecord(
        id=row.id, run_id=row.run_id, organism=row.organism, flaw_type=row.flaw_type,
        step_key=row.step_key, artifact_id=row.artifact_id, field=row.field, detail=row.detail,
        created_at=row.created_at,
    )


class OrganismsMixin(StoreBase):
    """Ground truth of model organisms: write once per (run, step, flaw type, field), read."""

    def add_organism_flaw(
        self, *, run_id: int, organism: str, flaw_type: str, step_key: str, field: str,
        detail: str, artifact_id: int | None = None,
    ) -> None:
        """Record a misbehaviour (a second record of the same run, step, type and field is
        ignored: a step asked again misbehaves the same way)."""
        try:
            with self._write() as s:
                s.add(OrganismFlaw(
                    run_id=run_id, organism=organism, flaw_type=flaw_type, step_key=step_key,
                    field=field, detail=detail, artifact_id=artifact_id,
                ))
        except IntegrityError:  # recorded before (a retried ask, or a resumed run)
            pass

    def resolve_organism_flaws(self, run_id: int) -> int:
        """Fill in the artifact of every row of `run_id` whose step has been stored since; the
        number of rows resolved."""
        with self._write() as s:
            pending = list(s.scalars(select(OrganismFlaw).where(
                OrganismFlaw.run_id == run_id, OrganismFlaw.artifact_id.is_(None)
            )))
            done = 0
            for row in pending:
                found = s.scalars(select(Artifact.id).where(
                    Artifact.run_id == run_id, Artifact.step_key == row.step_key
                )).first()
                if found is not None:
                    s.execute(update(OrganismFlaw).where(OrganismFlaw.id == row.id)
                              .values(artifact_id=found))
                    done += 1
        return done

    def organism_flaws(self, *, run_id: int | None = None) -> list[OrganismFlawRecord]:
        """Ground-truth rows in insertion order, of one run or of all."""
        query = select(OrganismFlaw).order_by(OrganismFlaw.id)
        if run_id is not None:
            query = query.where(OrganismFlaw.run_id == run_id)
        with self._read() as s:
            return [_record(r) for r in s.scalars(query)]


__all__ = ["OrganismFlawRecord", "OrganismsMixin"]
