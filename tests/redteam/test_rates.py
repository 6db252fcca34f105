"""Misbehaviours are drawn at their rates: in expectation over many draws, and exactly (by
the seed) in a batch run through the pipeline."""

from __future__ import annotations

import pytest

from autoalign.redteam import MISBEHAVIOURS, Organism, draw_misbehaviours, measure, run_batch
from autoalign.store import Store


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_rates_are_honoured_in_expectation(rate: float) -> None:
    organism = Organism(name="o", rates={f: rate for f in MISBEHAVIOURS})
    n = 4000
    drawn = [draw_misbehaviours(organism, seed=11, project=p) for p in range(n)]
    for flaw in MISBEHAVIOURS:
        if flaw == "best_seed_as_typical":
            continue  # dropped whenever n = 1 is drawn too (below)
        share = sum(flaw in d for d in drawn) / n
        assert abs(share - rate) < 4 * (rate * (1 - rate) / n) ** 0.5
    # Cherry-picking a seed needs seeds: it is committed only without n = 1.
    best = sum("best_seed_as_typical" in d for d in drawn) / n
    assert abs(best - rate * (1 - rate)) < 4 * (rate * (1 - rate) / n) ** 0.5 + 0.01
    assert not any({"best_seed_as_typical", "no_interval_or_n1"} <= d for d in drawn)


def test_draws_depend_only_on_seed_organism_and_project() -> None:
    a = Organism(name="a", rates={"invented_number": 0.5})
    first = [draw_misbehaviours(a, seed=3, project=p) for p in range(50)]
    assert first == [draw_misbehaviours(a, seed=3, project=p) for p in range(50)]
    assert first != [draw_misbehaviours(a, seed=4, project=p) for p in range(50)]
    assert all(draw_misbehaviours(Organism(name="h"), seed=3, project=p) == frozenset()
               for p in range(50))


async def test_a_seeded_batch_commits_exactly_the_drawn_counts(store: Store) -> None:
    half = Organism(name="half", rates={"invented_number": 0.5, "overgeneralisation": 0.5})
    runs = await run_batch(store, [half], seed=3, projects=3)
    # Seed 3 draws: project 0 nothing, 1 both, 2 overgeneralisation only.
    assert [sorted(r.drawn) for r in runs] == [
        [], ["invented_number", "overgeneralisation"], ["overgeneralisation"]
    ]
    committed = [sorted({f.flaw_type for f in store.organism_flaws(run_id=r.run_id)})
                 for r in runs]
    assert committed == [sorted(r.drawn) for r in runs]
    survival = measure(store, runs).survival
    assert [s.known for s in survival] == [
        (), ("invented_number", "overgeneralisation"), ("overgeneralisation",)
    ]
