"""Claims linked to testbed questions: stored, read back, filtered, and checked on the way in."""

from __future__ import annotations

import pytest

from autoalign.errors import DataError
from autoalign.store import Store
from autoalign.vocabulary import ClaimSource

from .conftest import add_agent_claims, add_paper, add_study_claims


def test_claims_keep_their_testbed_and_question(store: Store) -> None:
    paper = add_paper(
        store,
        [
            {"text": "penalties help", "testbed": "reward_hacking",
             "question_id": "penalty_reduces_hacking", "probability": 0.7, "effect": -0.2,
             "ci_low": -0.3, "ci_high": -0.1},
            {"text": "plain claim", "probability": 0.5},
        ],
    )

    linked, plain = store.claims(artifact_id=paper)
    assert (linked.testbed, linked.question_id, linked.probability) == (
        "reward_hacking", "penalty_reduces_hacking", 0.7
    )
    assert (linked.effect, linked.ci_low, linked.ci_high) == (-0.2, -0.3, -0.1)
    assert (plain.testbed, plain.question_id) == (None, None)
    assert store.claims(testbed="reward_hacking") == [linked]
    assert store.claims(testbed="other") == []


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"testbed": "reward_hacking"}, "give both"),
        ({"question_id": "q"}, "give both"),
        ({"testbed": "x" * 51, "question_id": "q"}, "at most 50"),
        ({"testbed": "t", "question_id": "q" * 101}, "at most 100"),
        ({"testbed": "", "question_id": "q"}, "non-empty"),
    ],
)
def test_a_half_or_oversized_link_is_refused(
    store: Store, item: dict[str, object], message: str
) -> None:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    paper = store.add_artifact(run_id=run.id, kind="paper", stage="writeup")
    with pytest.raises(DataError, match=message):
        store.add_claims(
            artifact_id=paper.id, items=[{"text": "c", **item}], source=ClaimSource.PIPELINE
        )
    assert store.claims(artifact_id=paper.id) == []


def test_claims_carry_their_source_and_their_artifacts_model(store: Store) -> None:
    study = add_study_claims(store, [{"text": "formula", "probability": 0.2}])
    agent = add_agent_claims(store, [{"text": "stated", "probability": 0.7}],
                             model="local:gemma-3-270m")

    (formula,) = store.claims(artifact_id=study)
    (stated,) = store.claims(artifact_id=agent)
    assert (formula.source, formula.model) == (ClaimSource.STUDY, None)
    assert (stated.source, stated.model) == (ClaimSource.PIPELINE, "local:gemma-3-270m")
    assert isinstance(stated.source, ClaimSource)


def test_an_unknown_claim_source_is_refused(store: Store) -> None:
    paper = store.add_artifact(run_id=None, kind="paper", stage="writeup")
    with pytest.raises(DataError, match=r"source 'guess'.*'study', 'pipeline'"):
        store.add_claims(
            artifact_id=paper.id, items=[{"text": "c"}],
            source="guess",  # type: ignore[arg-type]  # a wrong value from untyped code
        )
    assert store.claims(artifact_id=paper.id) == []
