"""The corpus stage 4 reads: papers of every run, by status, with what critic #3 needs of each
(abstract, claims, ancestry, testbeds and questions), and clusters of their abstracts."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from ..agenda import Agenda
from ..embeddings import Embedder, EndpointEmbedder, TfidfEmbedder, near_duplicates
from ..errors import ConfigError
from ..store import ArtifactRecord, ClaimRecord, Store
from ..vocabulary import Kind, Status
from ._schemas import PaperContent

_NOT_EVIDENCE = frozenset({Kind.TOPIC})
"""Ancestors that every paper of a run shares by construction (the agenda's topics): not a
shared source of evidence."""


@dataclass(frozen=True, kw_only=True)
class CorpusPaper:
    """A paper of the corpus and what critic #3 reads of it."""

    paper: ArtifactRecord
    abstract: str
    claims: tuple[ClaimRecord, ...]
    ancestors: frozenset[int]
    """Its ancestors in the provenance DAG, the agenda's topic records left out."""
    testbeds: frozenset[str]
    """Testbeds of the experiment claims it descends from."""
    questions: frozenset[str]
    """Testbed questions (`testbed/question`) of those claims."""


def _question(claim: ClaimRecord) -> str | None:
    if claim.question_id is None:
        return None
    q = claim.question_id
    return q if "/" in q else f"{claim.testbed}/{q}"


def corpus_papers(store: Store, statuses: Collection[str]) -> list[CorpusPaper]:
    """Every complete paper in the database whose status is one of `statuses`, oldest first.

    A paper that is `tainted` or `flawed` never matches (those are not statuses stage 4 may be
    asked for)."""
    wanted = set(statuses) - {Status.TAINTED, Status.FLAWED}
    papers = [a for a in store.artifacts(kind=Kind.PAPER) if a.status in wanted]
    if not papers:
        return []
    by_artifact: dict[int, list[ClaimRecord]] = {}
    for claim in store.claims():
        by_artifact.setdefault(claim.artifact_id, []).append(claim)
    out = []
    for paper in papers:
        content = PaperContent.model_validate(paper.content_json)
        if "abstract" not in content.sections:
            continue
        ancestors = store.ancestors(paper.id)
        kinds = {a.id: a.kind for a in store.artifacts(ids=ancestors)} if ancestors else {}
        upstream = [c for aid in ancestors for c in by_artifact.get(aid, [])]
        out.append(CorpusPaper(
            paper=paper,
            abstract=store.artifact(content.sections["abstract"]).content_text,
            claims=tuple(by_artifact.get(paper.id, [])),
            ancestors=frozenset(a for a in ancestors if kinds.get(a) not in _NOT_EVIDENCE),
            testbeds=frozenset(c.testbed for c in upstream if c.testbed),
            questions=frozenset(q for c in upstream if (q := _question(c)) is not None),
        ))
    return out


def make_embedder(agenda: Agenda) -> Embedder:
    """The embedder `[crosscheck] embedder` names: `tfidf`, or `openai:<model>` at the
    `[models.providers.openai]` endpoint.

    Raises:
        ConfigError: another provider, or no model named.
    """
    name = agenda.crosscheck.embedder
    if name == "tfidf":
        return TfidfEmbedder()
    provider, _, model = name.partition(":")
    if provider != "openai" or not model:
        raise ConfigError(
            f"[crosscheck] embedder {name!r} must be 'tfidf' or 'openai:<model>' (any "
            "OpenAI-compatible embeddings endpoint, set in [models.providers.openai])"
        )
    settings = agenda.models.provider_config("openai")
    return EndpointEmbedder(
        model, base_url=settings.base_url, api_key_env=settings.api_key_env or "OPENAI_API_KEY"
    )


def clusters(
    papers: Sequence[CorpusPaper], embedder: Embedder, *, threshold: float
) -> list[list[int]]:
    """Groups of paper ids whose abstracts embed at least `threshold` close (single linkage),
    each ascending, in order of their first member."""
    if not papers:
        return []
    groups = near_duplicates([p.abstract for p in papers], embedder, threshold=threshold)
    return [sorted(papers[i].paper.id for i in group) for group in groups]


__all__ = ["CorpusPaper", "clusters", "corpus_papers", "make_embedder"]
