"""A research database with claims about testbed questions, and ground truth written here so
that no test runs a testbed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from autoalign.errors import ConfigError
from autoalign.store import Store
from autoalign.testbeds import Truth
from autoalign.vocabulary import ClaimSource, Kind, Role, Stage


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


def add_paper(
    store: Store,
    claims: list[dict[str, object]],
    *,
    title: str = "paper",
    source: ClaimSource = ClaimSource.PIPELINE,
) -> int:
    """A run, a paper artifact and its claims (from `source`); returns the paper's id."""
    run = store.create_run(name=title, agenda_digest="d" * 64, config={})
    paper = store.add_artifact(run_id=run.id, kind="paper", stage="writeup", title=title)
    store.add_claims(artifact_id=paper.id, items=claims, source=source)
    return paper.id


def add_study_claims(store: Store, claims: list[dict[str, object]]) -> int:
    """An `experiment_claim` artifact without role or model, as `autoalign study` writes, and
    its claims (source `study`); returns the artifact's id."""
    art = store.add_artifact(run_id=None, kind=Kind.EXPERIMENT_CLAIM, stage=Stage.EXECUTE)
    store.add_claims(artifact_id=art.id, items=claims, source=ClaimSource.STUDY)
    return art.id


def add_agent_claims(store: Store, claims: list[dict[str, object]], *, model: str) -> int:
    """An `experiment_claim` artifact written by the worker `model` and its claims (source
    `pipeline`), as the pipeline's execute stage writes them; returns the artifact's id."""
    art = store.add_artifact(
        run_id=None, kind=Kind.EXPERIMENT_CLAIM, stage=Stage.EXECUTE, role=Role.WORKER,
        model=model,
    )
    store.add_claims(artifact_id=art.id, items=claims, source=ClaimSource.PIPELINE)
    return art.id


GEMMA, GPT = "local:gemma-3-270m", "openai:gpt-4o-mini"
"""Two models that played the worker in `add_two_sources`."""
YES = {"testbed": "reward_hacking", "question_id": "penalty_reduces_hacking"}
NO = {"testbed": "reward_hacking", "question_id": "bigger_model_hacks_less"}
SPURIOUS_YES = {"testbed": "spurious", "question_id": "probe_finds_feature"}


def add_two_sources(store: Store) -> None:
    """Study claims, a paper's claim (pipeline, no model) and two models' claims, interleaved so
    that no group is a contiguous run of the overall claims."""
    add_study_claims(store, [{**YES, "text": "s1", "probability": 0.9},
                             {**NO, "text": "s2", "probability": 0.2}])
    add_agent_claims(store, [{**YES, "text": "g1", "probability": 0.6}], model=GEMMA)
    add_agent_claims(store, [{**YES, "text": "o1", "probability": 0.3}], model=GPT)
    add_paper(store, [{**NO, "text": "p1", "probability": 0.4},
                      {"text": "no question", "probability": 0.5}])
    add_study_claims(store, [{**SPURIOUS_YES, "text": "s3", "probability": 0.7}])
    add_agent_claims(store, [{**NO, "text": "g2", "probability": 0.55},
                             {**NO, "text": "g3", "probability": 0.8}], model=GEMMA)
    add_agent_claims(store, [{**NO, "text": "o2", "probability": 0.1}], model=GPT)
