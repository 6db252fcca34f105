"""Critic #3's choice of claim pairs: blocking with a sorted-neighbourhood window and a cap.

Judging every pair of claims in the corpus grows as n squared. Here a claim is only paired
within its blocks (its paper's cluster, its testbed questions), and within a block only with
the next `window` claims in a fixed order, at most `per_block` pairs a block: at most
`n * window * blocks_per_claim` candidates, sorted once per block, so the choice costs
O(n log n) and never more than `per_block` judgments a block. Where contradictions were found
before comes first: blocks that had one, then claims of papers that had one
(`bench/critic3_pairs.py` measures it against all pairs).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """A claim as the pair choice sees it."""

    claim_id: int
    paper_id: int
    blocks: tuple[str, ...]
    """The blocks it belongs to, e.g. `cluster:12`, `question:reward_hacking/q1`."""


@dataclass(frozen=True, kw_only=True)
class Pair:
    """Two claims of two different papers to judge, and the block that paired them."""

    first: int
    """The lower claim id."""
    second: int
    block: str


def choose_pairs(
    claims: Sequence[Candidate],
    *,
    window: int,
    per_block: int,
    hot_papers: Collection[int] = (),
    hot_blocks: Collection[str] = (),
    skip: Collection[tuple[int, int]] = (),
) -> list[Pair]:
    """Pairs of claims from different papers to judge, each pair once, in priority order.

    Args:
        claims: the claims with their blocks.
        window: each claim is paired with the next `window` claims of its block.
        per_block: most pairs taken from one block.
        hot_papers: papers with an earlier contradiction; their claims' pairs come first.
        hot_blocks: blocks with an earlier contradiction; they are chosen from first.
        skip: pairs (lower claim id first) judged before, never chosen again.

    Raises:
        ValueError: `window` or `per_block` is below 1.
    """
    if window < 1 or per_block < 1:
        raise ValueError(f"window ({window}) and per_block ({per_block}) must be at least 1")
    hot = set(hot_papers)
    blocks: dict[str, list[Candidate]] = {}
    for claim in claims:
        for block in claim.blocks:
            blocks.setdefault(block, []).append(claim)
    warm = set(hot_blocks)
    chosen: list[Pair] = []
    seen: set[tuple[int, int]] = set(skip)
    for name in sorted(blocks, key=lambda b: (b not in warm, b)):
        members = sorted(
            blocks[name], key=lambda c: (c.paper_id not in hot, c.paper_id, c.claim_id)
        )
        found: list[tuple[bool, int, Pair]] = []
        for i, claim in enumerate(members):
            for other in members[i + 1 : i + 1 + window]:
                if other.paper_id == claim.paper_id:
                    continue
                a, b = sorted((claim.claim_id, other.claim_id))
                if (a, b) in seen:
                    continue
                urgent = claim.paper_id in hot or other.paper_id in hot
                found.append((not urgent, len(found), Pair(first=a, second=b, block=name)))
        taken = 0
        for _, _, pair in sorted(found, key=lambda f: (f[0], f[1])):
            if taken == per_block:
                break
            if (pair.first, pair.second) not in seen:
                seen.add((pair.first, pair.second))
                chosen.append(pair)
                taken += 1
    return chosen


def all_pairs(claims: Sequence[Candidate]) -> list[tuple[int, int]]:
    """Every pair of claims from different papers: the quadratic baseline the bench compares
    `choose_pairs` with."""
    out = []
    for i, claim in enumerate(claims):
        for other in claims[i + 1 :]:
            if other.paper_id != claim.paper_id:
                out.append((claim.claim_id, other.claim_id))
    return out


__all__ = ["Candidate", "Pair", "all_pairs", "choose_pairs"]
