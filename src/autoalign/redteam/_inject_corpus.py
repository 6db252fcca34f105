"""Programmatic injectors of corpus flaws: each changes one paper of a clean `Corpus` (a claim
added, an ancestor shared) or adds one paper."""

from __future__ import annotations

import random

from ._change import Injected, replace_value
from ._flaws import flaw_type
from ._registry import injector
from ._subjects import Corpus, CorpusClaim, CorpusEntry, Subject


def _agreeing(corpus: Corpus) -> list[tuple[int, int]]:
    """Pairs of papers (indices) with claims on one question in one direction."""
    pairs = []
    for a, pa in enumerate(corpus.papers):
        for b, pb in enumerate(corpus.papers):
            if a < b and any(
                ca.question == cb.question and ca.estimate and cb.estimate
                and (ca.estimate > 0) == (cb.estimate > 0)
                for ca in pa.claims for cb in pb.claims
            ):
                pairs.append((a, b))
    return pairs


def _next_id(corpus: Corpus) -> int:
    ids = [p.paper_id for p in corpus.papers] + [c.claim_id for p in corpus.papers
                                                  for c in p.claims]
    ids += [a for p in corpus.papers for a in p.ancestors]
    return max(ids, default=0) + 1


@injector("contradiction")
def contradiction(subject: Subject, rng: random.Random) -> Injected[Corpus] | None:
    """Another paper gains a claim on a question already answered, in the other direction."""
    if not isinstance(subject, Corpus) or len(subject.papers) < 2:
        return None
    sources = [(a, c) for a, p in enumerate(subject.papers) for c in p.claims if c.estimate]
    if not sources:
        return None
    a, claim = rng.choice(sources)
    b = rng.choice([i for i in range(len(subject.papers)) if i != a])
    estimate = -(claim.estimate or 0.0)
    new = CorpusClaim(
        claim_id=_next_id(subject), question=claim.question,
        text=f"Contrary to expectation, the effect runs the other way: not '{claim.text}'",
        estimate=estimate, ci_low=round(estimate - 0.1, 6), ci_high=round(estimate + 0.1, 6),
        probability=0.9,
    )
    target = subject.papers[b]
    return replace_value(subject, flaw_type("contradiction"), artifact_id=target.paper_id,
                         path=f"papers.{b}.claims.{len(target.claims)}", value=new.model_dump(),
                         description=f"paper {target.paper_id} now claims the opposite of "
                         f"claim {claim.claim_id}")


@injector("shared-ancestor-support")
def shared_ancestor(subject: Subject, rng: random.Random) -> Injected[Corpus] | None:
    """Of two agreeing papers, one is made to descend from the other's ancestor."""
    if not isinstance(subject, Corpus):
        return None
    pairs = [(a, b) for a, b in _agreeing(subject)
             if not set(subject.papers[a].ancestors) & set(subject.papers[b].ancestors)
             and subject.papers[a].ancestors]
    if not pairs:
        return None
    a, b = rng.choice(pairs)
    if rng.random() < 0.5:
        a, b = b, a
    if not subject.papers[a].ancestors:
        a, b = b, a
    ancestor = rng.choice(subject.papers[a].ancestors)
    target = subject.papers[b]
    return replace_value(subject, flaw_type("shared-ancestor-support"),
                         artifact_id=target.paper_id, path=f"papers.{b}.ancestors",
                         value=tuple(sorted({*target.ancestors, ancestor})),
                         description=f"paper {target.paper_id} now descends from artifact "
                         f"{ancestor}, an ancestor of paper {subject.papers[a].paper_id}")


@injector("finding-counted-twice")
def counted_twice(subject: Subject, rng: random.Random) -> Injected[Corpus] | None:
    """A new paper restating another's finding, derived from it, on the same testbed."""
    if not isinstance(subject, Corpus):
        return None
    sources = [p for p in subject.papers if p.claims]
    if not sources:
        return None
    origin = rng.choice(sources)
    fresh = _next_id(subject)
    claim = origin.claims[0].model_copy(update={"claim_id": fresh + 1})
    paper = CorpusEntry(
        paper_id=fresh, title=f"{origin.title}: a second look", abstract=origin.abstract,
        ancestors=tuple(sorted({*origin.ancestors, origin.paper_id})), testbeds=origin.testbeds,
        claims=(claim,),
    )
    return replace_value(subject, flaw_type("finding-counted-twice"), artifact_id=fresh,
                         path=f"papers.{len(subject.papers)}", value=paper.model_dump(),
                         description=f"paper {fresh} restates paper {origin.paper_id}'s finding "
                         "as a new one")


__all__: list[str] = []
