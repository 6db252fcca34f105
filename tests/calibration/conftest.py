"""A research database with claims about testbed questions, and ground truth written here so
that no test runs a testbed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from autoalign.errors import ConfigError
from autoalign.store import Store
from autoalign.testbeds import Truth


def truth(testbed: str, question_id: str, answer: bool) -> Truth:
    """A ground truth whose answer is `answer` (the other fields only need to be plausible)."""
    effect = 0.2 if answer else 0.0
    return Truth(
        testbed=testbed, question_id=question_id, version="1", metric="hack_rate",
        effect_kind="difference", threshold=0.1, direction="at_least", effect=effect, se=0.01,
        estimator="paired_difference", n_seeds=300, answer=answer, baseline_mean=0.3,
        treated_mean=0.3 + effect,
    )


GROUND_TRUTH = {
    "reward_hacking": [truth("reward_hacking", "penalty_reduces_hacking", True),
                       truth("reward_hacking", "bigger_model_hacks_less", False)],
    "spurious": [truth("spurious", "probe_finds_feature", True)],
}


class TruthSource:
    """`truth_for` over `GROUND_TRUTH`, counting calls; an unknown testbed raises like
    `get_testbed` does."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, name: str, /) -> list[Truth]:
        self.calls.append(name)
        if name not in GROUND_TRUTH:
            raise ConfigError(f"unknown testbed {name!r}")
        return GROUND_TRUTH[name]


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path}/db.sqlite")
    try:
        yield store
    finally:
        store.close()


def add_paper(store: Store, claims: list[dict[str, object]], *, title: str = "paper") -> int:
    """A run, a paper artifact and its claims; returns the paper's id."""
    run = store.create_run(name=title, agenda_digest="d" * 64, config={})
    paper = store.add_artifact(run_id=run.id, kind="paper", stage="writeup", title=title)
    store.add_claims(artifact_id=paper.id, items=claims)
    return paper.id
