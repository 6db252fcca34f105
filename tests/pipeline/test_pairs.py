"""Critic #3's pair choice stays far below all pairs on blocked data (counted, not timed)."""

from __future__ import annotations

import pytest

from autoalign.pipeline._pairs import Candidate, all_pairs, choose_pairs


def corpus(n: int, *, questions: int, claims_per_paper: int = 2) -> list[Candidate]:
    return [
        Candidate(
            claim_id=i, paper_id=i // claims_per_paper,
            blocks=(f"question:q{(i // claims_per_paper) % questions}",
                    f"cluster:{(i // claims_per_paper) % (questions * 2)}"),
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("n", [200, 1000, 4000])
def test_the_pairs_chosen_grow_with_the_blocks_not_with_n_squared(n: int) -> None:
    claims = corpus(n, questions=10)
    pairs = choose_pairs(claims, window=3, per_block=8)
    keys = [(p.first, p.second) for p in pairs]
    assert len(keys) == len(set(keys))  # each pair once
    by_id = {c.claim_id: c for c in claims}
    assert all(by_id[a].paper_id != by_id[b].paper_id for a, b in keys)
    assert all(p.block in by_id[p.first].blocks and p.block in by_id[p.second].blocks
               for p in pairs)
    assert len(pairs) <= 30 * 8  # 30 blocks, 8 pairs a block at most
    assert len(pairs) < len(all_pairs(claims)) / 10


def test_papers_with_earlier_contradictions_come_first_and_judged_pairs_are_skipped() -> None:
    claims = corpus(40, questions=1)
    hot = 15
    warm = {"question:q0"}
    pairs = choose_pairs(claims, window=2, per_block=3, hot_papers={hot}, hot_blocks=warm)
    by_id = {c.claim_id: c for c in claims}
    assert pairs[0].block == "question:q0"  # the block of the earlier contradiction first
    first_block = [p for p in pairs if p.block == pairs[0].block]
    assert len(first_block) == 3
    assert all(hot in (by_id[p.first].paper_id, by_id[p.second].paper_id) for p in first_block)
    again = choose_pairs(claims, window=2, per_block=3, hot_papers={hot}, hot_blocks=warm,
                         skip={(p.first, p.second) for p in pairs})
    assert not {(p.first, p.second) for p in again} & {(p.first, p.second) for p in pairs}


def test_a_window_or_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="window"):
        choose_pairs([], window=0, per_block=1)
