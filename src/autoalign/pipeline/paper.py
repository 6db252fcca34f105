"""Read a paper back from the database, top-down, with the artifacts each part links to."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from ..errors import DataError
from ..store import ArtifactRecord, ClaimRecord, FlawRecord, JudgmentRecord, Store
from ..vocabulary import Kind
from ._divergence import DivergenceContent
from ._hierarchy import paragraphs
from ._schemas import Abstract, NumberTrace, PaperContent, Section
from .writeup import SECTIONS


@dataclass(frozen=True, kw_only=True)
class Link:
    """A provenance edge out of a paper section, with the artifact it points at."""

    relation: str
    artifact: ArtifactRecord


@dataclass(frozen=True, kw_only=True)
class ParagraphLink:
    """A source one paragraph rests on: an artifact, or one paragraph of a section."""

    artifact_id: int
    kind: str
    paragraph: int | None
    """The paragraph (from 1) of a section artifact, or None for the whole artifact."""


@dataclass(frozen=True, kw_only=True)
class ParagraphView:
    """One paragraph of a section: its text, its checked links, the ids its writer named but
    was not shown (dropped), and each number it prints with its source (or untraced)."""

    text: str
    links: list[ParagraphLink]
    dropped: list[str]
    numbers: list[NumberTrace]


@dataclass(frozen=True, kw_only=True)
class PaperPart:
    """One section of a paper and the artifacts it was written from."""

    name: str
    artifact: ArtifactRecord
    links: list[Link]
    paragraphs: list[ParagraphView] = field(default_factory=list)
    """Empty for a section stored before sections were written as paragraphs."""


@dataclass(frozen=True, kw_only=True)
class PaperView:
    """A paper with its sections in reading order, its claims, flaws and verdicts."""

    paper: ArtifactRecord
    parts: list[PaperPart]
    claims: list[ClaimRecord]
    flaws: list[FlawRecord]
    judgments: list[JudgmentRecord]
    divergence: DivergenceContent | None = None
    """How far the directly written version diverges from this one (None if not measured)."""
    divergence_id: int | None = None


def _paragraphs(section: ArtifactRecord, kinds: dict[int, str]) -> list[ParagraphView]:
    """A section's paragraphs with their links and traced numbers, read from its content."""
    schema: type[Section] | type[Abstract] = Abstract if section.kind == Kind.ABSTRACT else Section
    try:
        content = schema.model_validate(section.content_json)
    except ValidationError:
        return []  # stored before sections were written as paragraphs
    texts = [t for t, _ in paragraphs(content)]
    return [
        ParagraphView(
            text=text,
            links=[ParagraphLink(artifact_id=k.artifact, kind=kinds.get(k.artifact, "?"),
                                 paragraph=k.paragraph) for k in trace.links],
            dropped=trace.dropped,
            numbers=trace.numbers,
        )
        for text, trace in zip(texts, content.trace, strict=False)
    ]


def read_paper(store: Store, paper_id: int) -> PaperView:
    """Load paper `paper_id`: abstract, introduction, main text, appendix, each with its links,
    its paragraphs (their links and traced numbers) and the divergence of the direct version.
    It reads the paper, its sections, the artifacts they link to and the divergence, nothing
    else.

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
                paragraphs=_paragraphs(section, {a.id: a.kind for a in linked}),
            )
        )
    divergence = (
        DivergenceContent.model_validate(store.artifact(content.divergence).content_json)
        if content.divergence is not None else None
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
        divergence=divergence,
        divergence_id=content.divergence,
    )
