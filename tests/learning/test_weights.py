"""Refitting stage 1's judge weights from human comparisons: applied when the held-out human
choices are predicted better, rejected otherwise, and used by stage 1 once applied."""

from __future__ import annotations

import math

import pytest

from autoalign.critics import Comparison, allocate
from autoalign.learning import refit_judge_weights
from autoalign.learning._weights import one_coin_weight
from autoalign.models import register_script
from autoalign.pipeline import JUDGE_AGGREGATION, run_agenda
from autoalign.store import Store
from autoalign.vocabulary import JudgmentSource, Kind, Role, Stage, UpdateKind

from ..pipeline.conftest import Team
from ..pipeline.test_run import agenda

GOOD = "scripted:good-judge"


def _pair(store: Store, run_id: int) -> tuple[int, int]:
    a, b = (store.add_artifact(run_id=run_id, kind=Kind.POSITIVE_CASE, stage=Stage.PROPOSE,
                               content_text=t).id for t in ("case a", "case b"))
    return a, b


def _compare(store: Store, first: int, second: int, decision: str, *, model: str | None = None,
             reviewer: str | None = None) -> None:
    store.add_judgment(
        artifact_id=first, other_artifact_id=second, role=Role.JUDGE.value, decision=decision,
        model=model, reviewer=reviewer,
        source=JudgmentSource.HUMAN if reviewer else JudgmentSource.MODEL,
    )


def _pairs(store: Store, agreeing: dict[str, list[bool]]) -> None:
    """One pair per position; the human prefers the first case; each judge, asked in both
    orders, agrees with the human where its list says so."""
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    n = len(next(iter(agreeing.values())))
    for k in range(n):
        a, b = _pair(store, run.id)
        for judge, agrees in agreeing.items():
            winner_first = agrees[k]
            _compare(store, a, b, "first" if winner_first else "second", model=judge)
            _compare(store, b, a, "second" if winner_first else "first", model=judge)
        _compare(store, a, b, "first", reviewer="ann")


def test_the_one_coin_weight() -> None:
    assert one_coin_weight(9, 10) == pytest.approx(math.log(10 / 12 / (2 / 12)))
    assert one_coin_weight(0, 0) == 0.0
    assert one_coin_weight(1, 10) == 0.0  # below chance: no weight


def test_a_refit_that_predicts_held_out_humans_better_is_applied(store: Store) -> None:
    _pairs(store, {GOOD: [True] * 12, "scripted:bad-judge": [False] * 12})
    refit = refit_judge_weights(store)
    assert refit.applied, refit.reason
    assert (refit.n_pairs, refit.n_fit, refit.n_heldout) == (12, 8, 4)
    version = store.active_update(JUDGE_AGGREGATION, UpdateKind.JUDGE_WEIGHTS)
    assert version is not None and version.id == refit.version.id
    assert version.version == "1+judge_weights.1"
    assert version.params["model_weights"] == {
        GOOD: pytest.approx(one_coin_weight(8, 8)), "scripted:bad-judge": 0.0,
    }
    assert version.params["human_weight"] == 3.0  # no pair two humans compared: unchanged
    held = version.evidence["heldout"]
    assert held["refit"]["log_loss"] < held["current"]["log_loss"] == pytest.approx(math.log(2))
    assert held["refit"]["n"] == 4 and held["refit"]["accuracy"] == 1.0
    assert version.evidence["judges"][GOOD] == {
        "agree": 8, "n": 8, "low": pytest.approx(0.6756, abs=1e-3), "high": 1.0,
    }


def test_a_refit_that_does_not_help_is_rejected_with_its_reason(store: Store) -> None:
    # The judge agreed with the humans on the earlier pairs and disagrees on the recent ones:
    # trusting it more predicts the held-out choices worse than the current weight.
    _pairs(store, {GOOD: [True] * 8 + [False] * 4})
    refit = refit_judge_weights(store)
    assert not refit.applied
    assert "not lower, rejected" in refit.reason
    assert store.active_update(JUDGE_AGGREGATION, UpdateKind.JUDGE_WEIGHTS) is None
    (row,) = store.critic_versions(critic=JUDGE_AGGREGATION)
    assert not row.applied and row.reason == refit.reason
    held = row.evidence["heldout"]
    assert held["refit"]["log_loss"] > held["current"]["log_loss"]


def test_too_few_pairs_are_rejected(store: Store) -> None:
    _pairs(store, {GOOD: [True] * 4})
    refit = refit_judge_weights(store)
    assert not refit.applied and refit.reason.startswith("too few pairs")
    assert store.active_update(JUDGE_AGGREGATION, UpdateKind.JUDGE_WEIGHTS) is None


def test_humans_are_weighted_by_their_agreement_with_each_other(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    for _ in range(12):
        a, b = _pair(store, run.id)
        _compare(store, a, b, "first", model=GOOD)
        for reviewer in ("ann", "bob", "cy"):
            _compare(store, a, b, "first", reviewer=reviewer)
    refit = refit_judge_weights(store)
    # 8 fitted pairs, 3 humans each agreeing with the other two: 24 of 24.
    assert (refit.human.agree, refit.human.n) == (24, 24)
    assert refit.version.params["human_weight"] == pytest.approx(one_coin_weight(24, 24))


def test_real_valued_weights_scale_the_bradley_terry_fit() -> None:
    items = ["a", "b"]
    wins = [Comparison(a=0, b=1, winner=0, judge="m")] * 3
    half = allocate(items, wins, model_weights={"m": 0.5}, n_boot=0)
    whole = allocate(items, wins[:1] * 3, n_boot=0)
    assert half.shares[0].share < whole.shares[0].share
    assert allocate(items, wins, model_weights={"m": 0.0}, n_boot=0).shares[0].share == 0.5
    # Weight 2 is the same fit as repeating each comparison twice (choix's way).
    doubled = allocate(items, wins, model_weights={"m": 2.0}, n_boot=0)
    repeated = allocate(items, wins * 2, n_boot=0)
    assert doubled.shares[0].share == pytest.approx(repeated.shares[0].share, abs=1e-6)


def _prefer_reward_hacking(prompt: str) -> dict[str, str]:
    first = prompt.split("First:", 1)[1].split("Second:", 1)[0]
    return {"better": "first" if "(Reward hacking:" in first else "second", "rationale": "r"}


@pytest.mark.parametrize("refit", [False, True])
async def test_stage_1_uses_the_applied_weights_and_names_them(
    store: Store, refit: bool
) -> None:
    team = Team()
    team.overrides["PairwiseChoice"] = _prefer_reward_hacking
    name = f"weights-team-{refit}-{id(store)}"
    register_script(name, team)
    model = f"scripted:{name}"
    if refit:  # this run's judge disagreed with every human: its comparisons get weight 0
        _pairs(store, {GOOD: [True] * 12, model: [False] * 12})
        assert refit_judge_weights(store).applied
    summary = await run_agenda(agenda(model), store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    (record,) = store.artifacts(run_id=summary.run.id, kind=Kind.ALLOCATION)
    shares = {s["topic"]: s["share"] for s in record.content_json["shares"]}
    if refit:
        version = store.active_update(JUDGE_AGGREGATION, UpdateKind.JUDGE_WEIGHTS)
        assert version is not None
        assert record.content_json["weights_version"] == version.label
        assert record.content_json["model_weights"][model] == 0.0
        assert shares["Reward hacking"] == pytest.approx(0.5)
    else:
        assert record.content_json["weights_version"] is None
        assert shares["Reward hacking"] > 0.9
