"""Red-team test fixtures: a fresh research database per test, the pipeline tests' scripted team
(for experiments with LLM critics), and trials for the statistics, written out by hand or drawn
from a seeded generator."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from autoalign.models import register_script
from autoalign.redteam import Trial
from autoalign.store import Store
from tests.pipeline.conftest import Team

_names = itertools.count()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A SQLite research database migrated to head."""
    return Store.open(f"sqlite:///{tmp_path}/research.db")



@pytest.fixture
def team() -> tuple[Team, str]:
    """A fresh scripted team and its model id."""
    t = Team()
    name = f"redteam{next(_names)}"
    register_script(name, t)
    return t, f"scripted:{name}"


def trial(
    subject: str, critic: str, flaw_type: str | None, detected: bool, *,
    probability: float | None = None, severe: bool = False,
) -> Trial:
    """A trial whose `flagged` equals `detected`."""
    return Trial(
        subject=subject, critic=critic, flaw_type=flaw_type, detected=detected,
        flagged=detected, probability=probability, severe=severe,
    )


def synthetic_trials(
    *, subjects: int = 300, critics: tuple[str, ...] = ("c1@1", "c2@1", "c3@1"),
    types: tuple[str, ...] = ("cherry-pick", "n-equals-1", "overgeneralise"),
    control_every: int = 5, seed: int = 0,
) -> list[Trial]:
    """Every critic on every subject; every `control_every`-th subject is a clean control.
    Critic j detects a flaw when a shared latent difficulty is below 0.5 + 0.1 j, so misses are
    strongly correlated; controls are flagged 10% of the time."""
    rng = np.random.default_rng(seed)
    out = []
    for s in range(subjects):
        flaw = None if s % control_every == 0 else types[s % len(types)]
        latent = rng.random()
        for j, c in enumerate(critics):
            hit = latent < 0.5 + 0.1 * j if flaw else rng.random() < 0.1
            out.append(
                trial(
                    f"s{s}", c, flaw, bool(hit), probability=float(rng.random()),
                    severe=bool(flaw) and s % 2 == 1,
                )
            )
    return out
