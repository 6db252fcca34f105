"""Multi-step LLM critics as the red team runs them, outside any run and writing nothing to the
research tables: critic #2 as the write-up runs it (`c2.pipeline`: checks, babble, merge,
investigate, report) and critic #3's pair judge over a corpus (`c3.pairs`)."""

from __future__ import annotations

import asyncio

from ..agenda import Critic2Section, CrosscheckSection
from ..critics import Finding, FlawInvestigator, PaperBabble, PaperDraft
from ..embeddings import near_duplicates
from ..models import ModelClient
from ..pipeline import Critic2Report, review_draft
from ..pipeline._across import PairVerdict
from ..pipeline._pairs import Candidate, choose_pairs
from ..pipeline.crosscheck import (
    PAIR_INSTRUCTIONS,
    PAIRS_CRITIC,
    claim_blocks,
    pair_findings,
    pair_prompt,
)
from ..vocabulary import Role
from ._subjects import Corpus, CorpusClaim, CorpusEntry

PAPER_PIPELINE = "c2.pipeline"
"""Critic #2 as the pipeline runs it (`autoalign.pipeline._critic2.review_draft`)."""
CORPUS_PAIRS = "c3.pairs"
"""Critic #3's pair judge on a corpus."""


def pipeline_version() -> str:
    """`c2.pipeline`'s version: its babble's and its investigator's (`b1.i1`)."""
    return f"b{PaperBabble.version}.i{FlawInvestigator.version}"


def pairs_version() -> str:
    """`c3.pairs`'s version: the one stage 4 stores on its contradiction flaws."""
    return PAIRS_CRITIC[1]


def report_findings(report: Critic2Report) -> list[Finding]:
    """The flaws of a critic-2 report the pipeline counts (confirmed by the investigator, or a
    programmatic rule's), as findings with their locations; a refuted or not-investigated
    candidate is not one."""
    return [
        Finding(category=f.category, severity=f.severity, description=f.description,
                evidence=f.evidence, location=f.location, confidence=f.confidence)
        for f in report.flaws if f.counts
    ]


async def pipeline_review(
    draft: PaperDraft, *, models: ModelClient, settings: Critic2Section,
) -> Critic2Report:
    """Critic #2's review of `draft` as the write-up's last round runs it (no revision left,
    no past flaws shown: the red team's papers have no history), asked through `models`."""
    return await review_draft(draft, models=models, settings=settings)


async def _judge(
    models: ModelClient, first: tuple[CorpusClaim, CorpusEntry],
    second: tuple[CorpusClaim, CorpusEntry],
) -> PairVerdict | None:
    (ca, pa), (cb, pb) = first, second
    reply = await models.ask(
        Role.JUDGE.value, PairVerdict, instructions=PAIR_INSTRUCTIONS,
        prompt=pair_prompt((pa.title, ca.text), (pb.title, cb.text)),
        step_key=f"corpus/critic/{CORPUS_PAIRS}/{ca.claim_id}-{cb.claim_id}",
    )
    return reply.output


async def corpus_pairs(
    corpus: Corpus, *, models: ModelClient, settings: CrosscheckSection | None = None,
) -> list[Finding]:
    """Critic #3's pair judge on a corpus, as stage 4 runs it: the papers clustered by their
    abstracts (TF-IDF at `cluster_threshold`), claims blocked by cluster and question,
    `choose_pairs` within blocks, each pair asked of the `judge` role; a contradiction is a
    finding on each of the two papers' claims. A pair without a valid verdict gives nothing
    (as in stage 4)."""
    cfg = settings or CrosscheckSection()
    papers = corpus.papers
    groups = near_duplicates([p.abstract or p.title for p in papers],
                             threshold=cfg.cluster_threshold) if papers else []
    cluster_of = {papers[i].paper_id: min(papers[j].paper_id for j in g)
                  for g in groups for i in g}
    claims = {c.claim_id: (c, p) for p in papers for c in p.claims}
    candidates = [
        Candidate(claim_id=c.claim_id, paper_id=p.paper_id,
                  blocks=claim_blocks(cluster_of[p.paper_id], {x.question for x in p.claims}))
        for c, p in claims.values()
    ]
    pairs = choose_pairs(candidates, window=cfg.window, per_block=cfg.pairs_per_block)
    verdicts = await asyncio.gather(*[
        _judge(models, claims[p.first], claims[p.second]) for p in pairs
    ])
    found: list[Finding] = []
    for pair, verdict in zip(pairs, verdicts, strict=True):
        if verdict is not None:
            found += pair_findings(verdict, (pair.first, claims[pair.first][1].paper_id),
                                   (pair.second, claims[pair.second][1].paper_id))
    return found


__all__ = [
    "CORPUS_PAIRS",
    "PAPER_PIPELINE",
    "corpus_pairs",
    "pairs_version",
    "pipeline_review",
    "pipeline_version",
    "report_findings",
]
