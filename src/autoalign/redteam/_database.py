"""Clean subjects from the research database: accepted papers on which no flaw is recorded.

Only papers for now: an executed step is rebuilt from its stage's records inside the execute
stage (`pipeline/_critic1.py`), which has no reader outside a run yet.
"""

from __future__ import annotations

from ..pipeline import stored_paper_draft
from ..store import Store
from ..vocabulary import Kind, Status
from ._subjects import CleanSubject


def database_subjects(store: Store) -> list[CleanSubject]:
    """Every accepted paper with no flaw recorded on it or on its sections, as a clean
    subject (`db:paper-<id>`), in id order."""
    found = []
    for paper in store.artifacts(kind=Kind.PAPER):
        if paper.status != Status.ACCEPTED:
            continue
        draft = stored_paper_draft(store, paper.id)
        if draft is None:
            continue
        ids = [draft.paper_id, *(s.artifact_id for s in draft.sections)]
        if store.flaws(artifact_ids=ids):
            continue
        found.append(CleanSubject(key=f"db:paper-{paper.id}", where="paper", subject=draft,
                                  source_artifact=paper.id))
    return found


__all__ = ["database_subjects"]
