"""Red-team reports built from trials for the case tests (all offline)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from autoalign.models import register_script
from autoalign.redteam import RedteamReport, Trial, build_report

from ..pipeline.conftest import Team

_names = itertools.count()


@pytest.fixture
def team() -> tuple[Team, str]:
    """A fresh scripted team and its model id."""
    t = Team()
    name = f"case{next(_names)}"
    register_script(name, t)
    return t, f"scripted:{name}"


def independent_trials(*, subjects: int, recalls: dict[str, float], seed: int = 0,
                       control_every: int = 5) -> list[Trial]:
    """Every critic on every subject; each critic detects a flaw with its own recall,
    independently of the others; controls are flagged 10% of the time."""
    rng = np.random.default_rng(seed)
    out = []
    for s in range(subjects):
        flaw = None if s % control_every == 0 else ("cherry-pick", "n-equals-1")[s % 2]
        for critic, recall in recalls.items():
            hit = bool(rng.random() < (recall if flaw else 0.1))
            out.append(Trial(subject=f"s{s}", critic=critic, flaw_type=flaw, detected=hit,
                             flagged=hit))
    return out


def report_of(trials: list[Trial]) -> RedteamReport:
    """The report of `trials` (few bootstrap replicates: the tests compare, not estimate)."""
    return build_report(trials, n_boot=200).report
