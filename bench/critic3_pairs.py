"""Critic #3's pair choice against all pairs of claims, measured in the same run.

For each corpus size n (claims of papers two claims each, spread over testbed questions and
clusters), times `choose_pairs` (blocking by cluster and question, a sorted-neighbourhood
window, a cap per block) and the all-pairs baseline (every pair of claims from different
papers), and prints how many pairs each yields and the time ratio. The unit tests check the
count; the time is measured here, where a loaded machine cannot fail a test.

Run:  python bench/critic3_pairs.py [--sizes 1000,2000,4000,8000] [--questions 20]
"""

from __future__ import annotations

import argparse
import time

from autoalign.pipeline._pairs import Candidate, all_pairs, choose_pairs


def corpus(n: int, questions: int) -> list[Candidate]:
    """`n` claims, two per paper; each paper answers one of `questions` testbed questions and
    lies in one of twice as many clusters."""
    return [
        Candidate(
            claim_id=i, paper_id=i // 2,
            blocks=(f"question:q{(i // 2) % questions}", f"cluster:{(i // 2) % (2 * questions)}"),
        )
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000,4000,8000")
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--window", type=int, default=3)
    parser.add_argument("--per-block", type=int, default=8)
    args = parser.parse_args()
    print(f"{'claims':>7} {'chosen':>8} {'all pairs':>11} {'chosen s':>9} {'all s':>8} "
          f"{'time ratio':>10}")
    for n in (int(x) for x in args.sizes.split(",")):
        claims = corpus(n, args.questions)
        started = time.perf_counter()
        chosen = choose_pairs(claims, window=args.window, per_block=args.per_block)
        chosen_s = time.perf_counter() - started
        started = time.perf_counter()
        baseline = all_pairs(claims)
        all_s = time.perf_counter() - started
        print(f"{n:>7} {len(chosen):>8} {len(baseline):>11} {chosen_s:>9.4f} {all_s:>8.3f} "
              f"{chosen_s / all_s:>10.4f}")


if __name__ == "__main__":
    main()
