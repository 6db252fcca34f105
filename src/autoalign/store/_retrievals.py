"""Flaw-library retrievals (`docs/learning.md`, "The flaw library"): which past flaws one prompt
carried, from which library version. One row per (run, step key); rows are only added."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..errors import DataError
from ._schema import Artifact, FlawRetrieval
from ._session import StoreBase


@dataclass(frozen=True, kw_only=True)
class RetrievedFlaw:
    """One hit as the prompt showed it."""

    entry: str
    """The library entry's id (`flaw:12`, `label:40`)."""
    score: float
    """Its cosine similarity to the query."""
    text: str
    """The line the prompt showed for it."""


@dataclass(frozen=True, kw_only=True)
class FlawRetrievalRecord:
    """A stored retrieval (see the `flaw_retrievals` table)."""

    id: int
    run_id: int
    step_key: str
    role: str
    library_version: str
    embedder: str
    query: str
    hits: tuple[RetrievedFlaw, ...]
    created_at: datetime


def _record(row: FlawRetrieval) -> FlawRetrievalRecord:
    return FlawRetrievalRecord(
        id=row.id, run_id=row.run_id, step_key=row.step_key, role=row.role,
        library_version=row.library_version, embedder=row.embedder, query=row.query,
        hits=tuple(RetrievedFlaw(entry=str(h["entry"]), score=float(h["score"]),
                                 text=str(h["text"])) for h in row.hits),
        created_at=row.created_at,
    )


class RetrievalsMixin(StoreBase):
    """The `flaw_retrievals` table."""

    def add_flaw_retrieval(
        self,
        *,
        run_id: int,
        step_key: str,
        role: str,
        library_version: str,
        embedder: str,
        query: str,
        hits: Sequence[RetrievedFlaw],
    ) -> FlawRetrievalRecord:
        """Record what the prompt of step `step_key` of run `run_id` was shown, unless a
        retrieval is recorded for that step already: then the stored one is returned unchanged
        (the first retrieval is the one its prompt carried)."""
        if not step_key:
            raise DataError(f"a flaw retrieval of run {run_id} needs a step key")
        found = self.flaw_retrieval(run_id, step_key)
        if found is not None:
            return found
        row = FlawRetrieval(
            run_id=run_id, step_key=step_key, role=role, library_version=library_version,
            embedder=embedder, query=query,
            hits=[{"entry": h.entry, "score": h.score, "text": h.text} for h in hits],
        )
        try:
            with self._write() as s:
                s.add(row)
                s.flush()
                return _record(row)
        except IntegrityError:  # another process recorded this step's retrieval first
            again = self.flaw_retrieval(run_id, step_key)
            if again is None:
                raise
            return again

    def flaw_retrieval(self, run_id: int, step_key: str) -> FlawRetrievalRecord | None:
        """The retrieval recorded for step `step_key` of run `run_id`, if any."""
        with self._read() as s:
            row = s.scalars(select(FlawRetrieval).where(
                FlawRetrieval.run_id == run_id, FlawRetrieval.step_key == step_key)).first()
            return _record(row) if row is not None else None

    def flaw_retrievals(
        self, *, run_id: int | None = None, role: str | None = None
    ) -> list[FlawRetrievalRecord]:
        """Retrievals oldest first, of one run or all, of one reader or all."""
        query = select(FlawRetrieval).order_by(FlawRetrieval.id)
        if run_id is not None:
            query = query.where(FlawRetrieval.run_id == run_id)
        if role is not None:
            query = query.where(FlawRetrieval.role == role)
        with self._read() as s:
            return [_record(r) for r in s.scalars(query)]

    def runs_of(self, artifact_ids: Sequence[int]) -> dict[int, int]:
        """The run of each artifact named that has one (ids and runs only; no content is
        read)."""
        ids = sorted(set(artifact_ids))
        out: dict[int, int] = {}
        with self._read() as s:
            for i in range(0, len(ids), 500):
                rows = s.execute(select(Artifact.id, Artifact.run_id).where(
                    Artifact.id.in_(ids[i:i + 500])))
                out.update({int(r[0]): int(r[1]) for r in rows if r[1] is not None})
        return out


__all__ = ["FlawRetrievalRecord", "RetrievalsMixin", "RetrievedFlaw"]
