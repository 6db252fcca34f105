"""Recalibration decisions: applied only when the held-out log loss improves, every decision a
critic version, the held-out labels the most recent ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from autoalign.calibration import apply_map
from autoalign.learning import collect_labels, recalibrate, recalibration_critics, split_by_time
from autoalign.review import decide
from autoalign.store import NewLabel, Store
from autoalign.vocabulary import (
    Kind,
    LabelKind,
    LabelSource,
    Relation,
    ReviewDecision,
    Stage,
    UpdateKind,
)

CRITIC = "c2.investigate"
START = datetime(2026, 1, 1, tzinfo=UTC)


def add_labels(
    store: Store, stated: np.ndarray, severe: np.ndarray, *, critic: str = f"{CRITIC}@1",
    offset: int = 0,
) -> None:
    """One label per (stated probability, truth), known one hour apart in this order."""
    store.add_labels(NewLabel(
        kind=LabelKind.ORGANIC, source=LabelSource.REVIEW, source_ref=f"review_label:{offset + i}",
        subject=f"artifact:{offset + i}", present=bool(s), severe=bool(s), critic=critic,
        detected=bool(s), probability=float(p), known_at=START + timedelta(hours=offset + i),
    ) for i, (p, s) in enumerate(zip(stated, severe, strict=True)))


def simulate(n: int, seed: int, *, power: float) -> tuple[np.ndarray, np.ndarray]:
    """A critic stating p whose subjects are severe with probability p**power (1: calibrated;
    3: it overstates)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, size=n)
    return p, rng.uniform(size=n) < p**power


def test_a_recalibration_that_helps_is_applied_as_a_new_version(store: Store) -> None:
    add_labels(store, *simulate(400, 11, power=3.0))
    decision = recalibrate(store, CRITIC, seed=0, n_boot=500)
    assert decision.applied and decision.method in ("platt", "isotonic")
    assert (decision.n_train, decision.n_held_out) == (280, 120)
    assert decision.before is not None and decision.before.map == "raw"
    best = decision.best
    assert best is not None and best.interval is not None and best.difference is not None
    assert best.log_loss < decision.before.log_loss and best.interval[1] < 0
    version = store.active_update(CRITIC, UpdateKind.RECALIBRATION)
    assert version is not None and version.id == decision.version.id
    assert version.label == f"{CRITIC}@1+recalibration.1" and version.applied
    assert version.params == best.params and version.params["method"] == decision.method
    evidence = version.evidence
    assert (evidence["n_train"], evidence["n_held_out"]) == (280, 120)
    assert evidence["last_label_id"] == max(r.id for r in store.labels())
    # the held-out labels are the 120 most recent: those known at or after the cutoff
    cutoff = datetime.fromisoformat(evidence["cutoff"])
    assert cutoff == START + timedelta(hours=280)
    assert sum(r.known_at.replace(tzinfo=UTC) >= cutoff for r in store.labels()) == 120
    assert evidence["before"]["log_loss"] == pytest.approx(decision.before.log_loss)
    assert {c["map"] for c in evidence["candidates"]} == {"platt", "isotonic"}
    assert all(c["interval"][0] <= c["difference"] <= c["interval"][1]
               for c in evidence["candidates"])
    assert all(c["n"] == 120 and 0 <= c["ece"] <= 1 and 0 <= c["brier"] <= 1
               for c in evidence["candidates"])
    # the stored params reproduce the calibrated values without scikit-learn
    assert apply_map(version.params, 0.9) < 0.9


def test_a_recalibration_that_does_not_help_is_rejected_and_nothing_changes(
    store: Store,
) -> None:
    add_labels(store, *simulate(400, 5, power=1.0))  # already calibrated
    decision = recalibrate(store, CRITIC, seed=0, n_boot=500)
    assert not decision.applied
    assert "held-out log loss" in decision.reason and "n=120" in decision.reason
    assert decision.before is not None and decision.best is not None
    assert decision.version.applied is False and decision.version.reason == decision.reason
    assert decision.version.evidence["before"]["n"] == 120
    assert store.active_update(CRITIC, UpdateKind.RECALIBRATION) is None
    assert store.active_version(CRITIC) is None
    (row,) = store.critic_versions(critic=CRITIC)
    assert row.version == "1+recalibration.1" and not row.applied


def test_a_rejected_update_keeps_the_version_in_use(store: Store) -> None:
    add_labels(store, *simulate(400, 11, power=3.0))
    first = recalibrate(store, CRITIC, seed=0, n_boot=500)
    assert first.applied
    # no new labels: the map in use is compared with maps fitted on the same data again
    second = recalibrate(store, CRITIC, seed=0, n_boot=500)
    assert second.before is not None and second.before.map == "current"
    assert not second.applied
    active = store.active_update(CRITIC, UpdateKind.RECALIBRATION)
    assert active is not None and active.id == first.version.id
    assert second.version.version == "1+recalibration.2"
    assert second.version.parent_id == first.version.id


def test_too_few_labels_is_a_rejected_decision(store: Store) -> None:
    add_labels(store, *simulate(12, 3, power=1.0))
    decision = recalibrate(store, CRITIC, min_labels=40)
    assert not decision.applied and decision.method is None
    assert decision.reason == "too few labels: 12 with a stated probability, 40 needed"
    (row,) = store.critic_versions(critic=CRITIC)
    assert not row.applied and row.reason == decision.reason and row.evidence["labels"] == 12
    assert store.active_update(CRITIC, UpdateKind.RECALIBRATION) is None


def test_one_outcome_only_is_a_rejected_decision(store: Store) -> None:
    p = np.linspace(0.1, 0.9, 50)
    add_labels(store, p, np.zeros(50, dtype=bool))
    decision = recalibrate(store, CRITIC)
    assert not decision.applied
    assert "one outcome only (not severe)" in decision.reason
    assert store.active_update(CRITIC, UpdateKind.RECALIBRATION) is None


def test_the_held_out_labels_are_those_known_after_the_cutoff(store: Store) -> None:
    p, y = simulate(20, 1, power=1.0)
    add_labels(store, p, y)
    # two more labels known at the same moment as the 15th: they go with it
    add_labels(store, p[:2], y[:2], offset=14)
    labels = store.labels()
    earlier, held = split_by_time(labels, 0.3)
    cutoff = min(r.known_at for r in held)
    assert all(r.known_at < cutoff for r in earlier)
    assert {r.id for r in held} == {r.id for r in labels if r.known_at >= cutoff}
    assert len(held) >= round(0.3 * len(labels))
    assert len(earlier) + len(held) == len(labels)
    # the most recent label is always held out, the oldest never
    assert max(labels, key=lambda r: r.known_at) in held
    assert min(labels, key=lambda r: r.known_at) in earlier


def test_only_labels_of_the_registered_version_are_fitted(store: Store) -> None:
    add_labels(store, *simulate(400, 11, power=3.0), critic=f"{CRITIC}@0")
    decision = recalibrate(store, CRITIC)
    assert not decision.applied and decision.reason.startswith("too few labels: 0 ")


def test_critics_with_enough_labelled_probabilities(store: Store) -> None:
    add_labels(store, *simulate(45, 1, power=1.0))
    add_labels(store, *simulate(5, 2, power=1.0), critic="c2.pipeline@1", offset=100)
    assert recalibration_critics(store) == [CRITIC]
    assert recalibration_critics(store, min_labels=5) == [CRITIC, "c2.pipeline"]


def test_labels_read_critic_2s_raw_probability_not_the_calibrated_one(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    paper = store.add_artifact(run_id=run.id, kind=Kind.PAPER, stage=Stage.WRITEUP,
                               content_json={"title": "t"})
    store.add_artifact(run_id=run.id, kind=Kind.PAPER_CRITIQUE, stage=Stage.WRITEUP,
                       content_json={"severe_flaw_probability": 0.2,
                                     "calibrated_probability": 0.7,
                                     "probability_version": f"{CRITIC}@1+recalibration.1"},
                       parents=[(paper.id, Relation.DERIVED_FROM)])
    flaw = store.add_flaw(artifact_id=paper.id, category="overclaiming", severity="major",
                          description="d", critic="c2.claim-strength", critic_version="1")
    request = store.add_review_request(artifact_id=paper.id, reason="check")
    decide(store, request, decision=ReviewDecision.CONFIRM, reviewer="ann", flaw_id=flaw.id)
    collect_labels(store)
    (stated,) = store.labels(critic_id=CRITIC, with_probability=True)
    assert stated.critic == f"{CRITIC}@1" and stated.probability == 0.2
