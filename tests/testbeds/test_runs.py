"""Runs are real, fast, and a function of (config, intervention, seed) alone."""

from __future__ import annotations

import random

import numpy as np
import pytest

from autoalign.errors import ConfigError
from autoalign.testbeds import get_testbed

from .test_registry import BUILTIN

ARMS = [
    (name, intervention)
    for name in BUILTIN
    for intervention in [None, *(i.name for i in get_testbed(name).interventions)]
]


@pytest.mark.parametrize(("name", "intervention"), ARMS)
def test_same_seed_same_metrics_whatever_the_global_rngs(
    name: str, intervention: str | None
) -> None:
    tb = get_testbed(name)
    random.seed(1)
    np.random.seed(1)
    first = tb.run({}, intervention=intervention, seed=7)
    random.seed(2)
    np.random.seed(2)
    second = tb.run({}, intervention=intervention, seed=7)
    assert first == second
    assert list(first) == [m.name for m in tb.metrics]


@pytest.mark.parametrize("name", BUILTIN)
def test_different_seeds_give_different_runs(name: str) -> None:
    tb = get_testbed(name)
    runs = [tb.run({}, seed=s) for s in range(4)]
    assert len({tuple(r.values()) for r in runs}) > 1


@pytest.mark.parametrize("name", BUILTIN)
def test_largest_sizes_run_and_report_every_metric(name: str) -> None:
    """The top of every knob's range works, with each heavy intervention (their cost is
    measured in `bench/testbed_sizes.py`, not here)."""
    tb = get_testbed(name)
    biggest = {k.name: int(k.high or 0) for k in tb.knobs if k.kind == "int"}
    heaviest: list[str | None] = [None]
    heaviest += [i.name for i in tb.interventions if i.name.startswith("more_")]
    for intervention in heaviest:
        values = tb.run(biggest, intervention=intervention, seed=0)
        assert set(values) == {m.name for m in tb.metrics}, (name, intervention)


def test_run_rejects_bad_config_intervention_and_seed() -> None:
    tb = get_testbed("reward_hacking")
    cases: list[tuple[dict[str, object], str | None, int, str, str]] = [
        ({"grid_sise": 5}, None, 0, "config.grid_sise", "no knob 'grid_sise'"),
        ({"grid_size": 50}, None, 0, "config.grid_size", "out of range"),
        ({"flaw": "teleport"}, None, 0, "config.flaw", "expected one of loop, tamper"),
        ({}, "magic", 0, "intervention", "no intervention 'magic'"),
        ({}, None, -1, "seed", "non-negative integer seed"),
    ]
    for config, intervention, seed, field, reason in cases:
        with pytest.raises(ConfigError, match=reason) as info:
            tb.run(config, intervention=intervention, seed=seed)
        assert info.value.field == field


def test_interventions_change_what_they_claim() -> None:
    """The dynamics are real: each intervention moves its testbed's main metric."""
    rh = get_testbed("reward_hacking")
    seeds = range(6)

    def mean(name: str, metric: str, intervention: str | None, **config: object) -> float:
        tb = get_testbed(name)
        return float(np.mean([tb.run(config, intervention=intervention, seed=s)[metric]
                              for s in seeds]))

    # The loop flaw is reversible, so an impact penalty changes nothing there, run for run.
    assert [rh.run({}, intervention="impact_penalty", seed=s) for s in seeds] == [
        rh.run({}, seed=s) for s in seeds
    ]
    # ... but with a tamperable sensor it does.
    assert mean("reward_hacking", "hacking_rate", "impact_penalty", flaw="tamper") < mean(
        "reward_hacking", "hacking_rate", None, flaw="tamper")
    assert mean("spurious_correlation", "spurious_reliance", "drop_spurious") == 0.0
    assert mean("spurious_correlation", "worst_group_accuracy", "group_reweight") > mean(
        "spurious_correlation", "worst_group_accuracy", None) + 0.1
    assert mean("probe_detection", "concept_cosine", "pca") < mean(
        "probe_detection", "concept_cosine", None)
    assert mean("weak_to_strong", "pgr", "weaker_regularization") < mean(
        "weak_to_strong", "pgr", None)

