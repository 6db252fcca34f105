"""Read a paper back from the database, top-down, with the artifacts each part links to."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DataError
from ..store import ArtifactRecord, ClaimRecord, FlawRecord, JudgmentRecord, Store
from ..vocabulary import Kind
from ._schemas import PaperContent
from .writeup import SECTIONS


@dataclass(frozen=True, kw_only=True)
class Link:
    """A provenance edge out of a paper section, with the artifact it points at."""

    relation: str
    artifact: ArtifactRecord


@dataclass(frozen=True, kw_only=True)
class PaperPart:
    """One section of a paper and the artifacts it was written from."""

    name: str
    artifact: ArtifactRecord
    links: list[Link]


@dataclass(frozen=True, kw_only=True)
class PaperView:
    """A paper with its sections in reading order, its claims, flaws and verdicts."""

    paper: ArtifactRecord
    parts: list[PaperPart]
    claims: list[ClaimRecord]
    flaws: list[FlawRecord]
    judgments: list[JudgmentRecord]


def read_paper(store: Store, paper_id: int) -> PaperView:
    """Load paper `paper_id`: abstract, introduction, main text, appendix, each with its links.

    Raises:
        DataError: there is no such artifact, or it is not a paper.
    """
    paper = store.artifact(paper_id)
    if paper.kind != Kind.PAPER:
        raise DataError(f"artifact {paper_id} is a {paper.kind}, not a paper")
    content = PaperContent.model_validate(paper.content_json)
    parts = []
    for name in SECTIONS:
        section = store.artifact(content.sections[name])
        edges = store.parents(section.id)
        linked = store.artifacts(ids=[e.parent_id for e in edges])
        by_id = {a.id: a for a in linked}
        parts.append(
            PaperPart(
                name=name,
                artifact=section,
                links=[Link(relation=e.relation, artifact=by_id[e.parent_id]) for e in edges],
            )
        )
    return PaperView(
        paper=paper,
        parts=parts,
        claims=store.claims(artifact_id=paper.id),
        # Critic #2 attaches a flaw to the section it names, else to the paper.
        flaws=[
            *store.flaws(artifact_id=paper.id),
            *(f for part in parts for f in store.flaws(artifact_id=part.artifact.id)),
        ],
        judgments=store.judgments(artifact_id=paper.id),
    )
