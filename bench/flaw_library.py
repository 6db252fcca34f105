"""The flaw library's retrieval time against its size.

For each library size n (synthetic entries: a flaw type and a sentence drawn from a small
vocabulary with a seeded generator), times the first `FlawLibrary.retrieve` (which fits TF-IDF
on the library's entries, once per snapshot) and the median of `--repeats` later queries (the
query's terms' postings in the fitted inverted index). Building the library from the store is
not timed here, with each later query's median as a ratio of the first query (the baseline,
measured in the same run). The unit tests check what is retrieved; the time is measured
here, where a loaded machine cannot fail a test.

Run:  python bench/flaw_library.py [--sizes 100,1000,10000] [--repeats 5] [--k 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from autoalign.critics import FlawLibrary, LibraryEntry

TYPES = ("overclaiming", "cherry_picking", "number_mismatch", "method_flaw", "weak_evidence")
_VOCABULARY = (
    "reward hacking penalty seeds baseline arm control noise probe accuracy interval claim "
    "generalises toy setting model log abstract number differs citation missing ablation "
    "variance effect estimate sample size cherry picked runs reported omitted significance"
)
WORDS = _VOCABULARY.split()


def library(n: int, rng: random.Random) -> FlawLibrary:
    """`n` entries of random types and 12-word descriptions."""
    return FlawLibrary([
        LibraryEntry(id=f"label:{i + 1}", source="redteam_trial", flaw_type=rng.choice(TYPES),
                     severity="severe", description=" ".join(rng.choices(WORDS, k=12)),
                     origin=f"redteam_trial bench:{i}")
        for i in range(n)
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--k", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(0)
    print(f"{'entries':>8} {'first s':>8} {'median s':>9} {'max s':>8} {'query/first':>12}")
    for n in (int(x) for x in args.sizes.split(",")):
        lib = library(n, rng)
        times = []
        for _ in range(args.repeats + 1):
            query = " ".join(rng.choices(WORDS, k=8))
            started = time.perf_counter()
            lib.retrieve(query, args.k)
            times.append(time.perf_counter() - started)
        first, later = times[0], times[1:]
        median = statistics.median(later)
        # The baseline is the first query of the same snapshot (which fits the index): the
        # ratio is what one cached snapshot saves per query.
        print(f"{n:>8} {first:>8.4f} {median:>9.4f} {max(later):>8.4f} {median / first:>12.3f}")


if __name__ == "__main__":
    main()
