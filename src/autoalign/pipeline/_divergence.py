"""How far two write-ups of the same research diverge, and how much scrutiny that asks for.

The paper is written twice: step by step (each layer from the layer below it) and directly (each
layer from the research log). `divergence` compares the two layer by layer. Its claim units are
the sentences of each layer (and, for the abstract, its listed claims); two claims match when
the Jaccard similarity of their content words (lower-cased words of three or more letters, stop
words and the words of direction and negation left out) is at least `MATCH_AT`, matched greedily
from the most similar pair. The score is the mean of three parts, each in [0, 1]:

- `claims`: the share of claim units, over both versions, that match nothing in the other;
- `numbers`: of the matched pairs where either side prints a number, the share whose numbers
  (as a multiset of values) differ;
- `conclusions`: of the matched pairs where both sides state a direction (more / less,
  increases / reduces, ...; a negation flips it), the share whose directions are opposite.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from ..agenda import WriteupSection

MATCH_AT = 0.5
"""Least Jaccard similarity of content words for two claims to be the same claim."""

_WORD = re.compile(r"[a-z]+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
UP = frozenset({
    "increase", "increases", "increased", "increasing", "raise", "raises", "raised", "higher",
    "more", "improve", "improves", "improved", "greater", "rise", "rises", "rose", "grows",
    "grew", "boost", "boosts", "boosted", "worsens", "amplifies",
})
DOWN = frozenset({
    "reduce", "reduces", "reduced", "reducing", "cut", "cuts", "lower", "lowers", "lowered",
    "less", "fewer", "decrease", "decreases", "decreased", "fall", "falls", "fell", "drop",
    "drops", "dropped", "shrinks", "prevents", "suppresses", "mitigates", "curbs",
})
NEGATION = frozenset({"not", "no", "never", "fails", "failed", "neither", "nor", "without"})
STOP = frozenset({
    "the", "and", "for", "that", "this", "with", "from", "are", "was", "were", "but", "has",
    "have", "had", "its", "our", "their", "they", "which", "than", "then", "also", "into",
    "onto", "over", "under", "can", "could", "may", "might", "does", "did", "doesn", "didn",
    "been", "being", "these", "those", "there", "here", "what", "when", "where", "who", "how",
    "all", "any", "both", "each", "only", "such", "very", "will", "would", "should", "about",
    "paper", "find", "finds", "found", "show", "shows", "showed", "results", "result",
})


class ClaimPair(BaseModel):
    """Two matched claims, one from each version."""

    layer: str
    stepwise: str
    direct: str


class DivergenceContent(BaseModel):
    """How far the step-by-step and the direct write-ups diverge (see the module docstring)."""

    score: float
    """Mean of `claims`, `numbers` and `conclusions`, in [0, 1]."""
    claims: float
    numbers: float
    conclusions: float
    n_claims: int
    """Claim units over both versions."""
    n_matched: int
    n_with_numbers: int
    """Matched pairs where either side prints a number."""
    n_with_direction: int
    """Matched pairs where both sides state a direction."""
    only_stepwise: list[str]
    only_direct: list[str]
    differing_numbers: list[ClaimPair]
    opposite_conclusions: list[ClaimPair]
    layers: list[str]
    """The layers compared."""
    threshold: float
    """The agenda's `divergence_threshold` when it was measured."""


@dataclass(frozen=True, kw_only=True)
class Scrutiny:
    """What a divergence asks of critic #2."""

    extra_critics: int
    """Critic-#2 instances to run beyond the usual."""
    escalation_drop: float
    """How much lower the severe-flaw probability that escalates to a human is set."""


NO_SCRUTINY = Scrutiny(extra_critics=0, escalation_drop=0.0)
"""The usual review: no extra instances, the agenda's escalation band."""


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def content_words(text: str) -> frozenset[str]:
    """The words two claims are matched by."""
    return frozenset(
        w for w in _words(text)
        if len(w) >= 3 and w not in STOP and w not in UP and w not in DOWN and w not in NEGATION
    )


def direction(text: str) -> int:
    """+1 (more, increases, ...), -1 (less, reduces, ...), or 0 when it states neither or both;
    an odd number of negations flips it."""
    words = _words(text)
    up = sum(w in UP for w in words)
    down = sum(w in DOWN for w in words)
    sign = (up > down) - (down > up)
    negated = sum(w in NEGATION for w in words) % 2 == 1
    return -sign if negated else sign


def numbers(text: str) -> list[float]:
    """The values of the numbers `text` prints, sorted."""
    return sorted(float(n) for n in _NUMBER.findall(text))


def claim_units(texts: Sequence[str]) -> list[str]:
    """The sentences of `texts` that have content words."""
    units = []
    for text in texts:
        units += [s.strip() for s in _SENTENCE.split(text) if content_words(s)]
    return units


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def match(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int]]:
    """Pairs (i, j) of matched claims, greedily from the most similar, each claim used once."""
    wa, wb = [content_words(x) for x in a], [content_words(y) for y in b]
    scored = sorted(
        ((_jaccard(x, y), i, j) for i, x in enumerate(wa) for j, y in enumerate(wb)),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for sim, i, j in scored:
        if sim < MATCH_AT:
            break
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        pairs.append((i, j))
    return sorted(pairs)


def divergence(
    stepwise: dict[str, list[str]], direct: dict[str, list[str]], *, threshold: float
) -> DivergenceContent:
    """Compare two versions given as claim texts by layer (only layers in both are compared)."""
    layers = [name for name in stepwise if name in direct]
    n_claims = n_with_numbers = n_with_direction = 0
    only_a: list[str] = []
    only_b: list[str] = []
    differ: list[ClaimPair] = []
    opposite: list[ClaimPair] = []
    n_matched = 0
    for layer in layers:
        a, b = claim_units(stepwise[layer]), claim_units(direct[layer])
        pairs = match(a, b)
        n_claims += len(a) + len(b)
        n_matched += len(pairs)
        only_a += [a[i] for i in range(len(a)) if i not in {p[0] for p in pairs}]
        only_b += [b[j] for j in range(len(b)) if j not in {p[1] for p in pairs}]
        for i, j in pairs:
            pair = ClaimPair(layer=layer, stepwise=a[i], direct=b[j])
            na, nb = numbers(a[i]), numbers(b[j])
            if na or nb:
                n_with_numbers += 1
                if na != nb:
                    differ.append(pair)
            da, db = direction(a[i]), direction(b[j])
            if da and db:
                n_with_direction += 1
                if da != db:
                    opposite.append(pair)
    claims = (len(only_a) + len(only_b)) / n_claims if n_claims else 0.0
    nums = len(differ) / n_with_numbers if n_with_numbers else 0.0
    concl = len(opposite) / n_with_direction if n_with_direction else 0.0
    return DivergenceContent(
        score=(claims + nums + concl) / 3, claims=claims, numbers=nums, conclusions=concl,
        n_claims=n_claims, n_matched=n_matched, n_with_numbers=n_with_numbers,
        n_with_direction=n_with_direction, only_stepwise=only_a, only_direct=only_b,
        differing_numbers=differ, opposite_conclusions=opposite, layers=layers,
        threshold=threshold,
    )


def scrutiny_for(score: float | None, settings: WriteupSection) -> Scrutiny:
    """The extra scrutiny a divergence `score` asks of the next step (critic #2): none below the
    agenda's `divergence_threshold` (or without a score), else `divergence_extra_critics` more
    critic instances and an escalation bar `divergence_escalation_drop` lower."""
    if score is None or score < settings.divergence_threshold:
        return NO_SCRUTINY
    return Scrutiny(
        extra_critics=settings.divergence_extra_critics,
        escalation_drop=settings.divergence_escalation_drop,
    )


def render_divergence(d: DivergenceContent) -> str:
    """The divergence as text."""
    lines = [
        f"Divergence {d.score:.2f} (threshold {d.threshold:.2f}) over {', '.join(d.layers)}: "
        f"claims {d.claims:.2f} ({len(d.only_stepwise) + len(d.only_direct)} of {d.n_claims} "
        f"unmatched), numbers {d.numbers:.2f} ({len(d.differing_numbers)} of "
        f"{d.n_with_numbers}), conclusions {d.conclusions:.2f} "
        f"({len(d.opposite_conclusions)} of {d.n_with_direction})",
    ]
    lines += [f"only step by step: {c}" for c in d.only_stepwise]
    lines += [f"only direct: {c}" for c in d.only_direct]
    lines += [f"numbers differ ({p.layer}): {p.stepwise} | {p.direct}" for p in d.differing_numbers]
    lines += [f"opposite ({p.layer}): {p.stepwise} | {p.direct}" for p in d.opposite_conclusions]
    return "\n".join(lines)


__all__ = [
    "MATCH_AT", "NO_SCRUTINY", "ClaimPair", "DivergenceContent", "Scrutiny", "claim_units",
    "content_words",
    "direction", "divergence", "match", "numbers", "render_divergence", "scrutiny_for",
]
