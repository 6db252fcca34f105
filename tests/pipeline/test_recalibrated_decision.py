"""Critic #2 decides by its recalibrated probability when a recalibration is applied, and its
report names the critic version; a rejected recalibration changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoalign.pipeline import run_agenda
from autoalign.store import Store
from autoalign.vocabulary import UpdateKind

from .conftest import Team
from .test_decisions import decision_of, reviews
from .test_run import agenda

LIFT = {"method": "isotonic", "x": [0.0, 1.0], "y": [0.5, 1.0]}
"""A map that lifts the scripted paper's raw probability 0 to 0.5, inside the band."""


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


def _critique(store: Store, run_id: int) -> dict[str, object]:
    (critique,) = store.artifacts(run_id=run_id, kind="paper_critique")
    assert isinstance(critique.content_json, dict)
    return critique.content_json


async def test_an_applied_recalibration_decides_and_is_named(
    store: Store, team: tuple[Team, str]
) -> None:
    version = store.add_critic_version(
        critic="c2.investigate", base_version="1", update=UpdateKind.RECALIBRATION,
        params=LIFT, evidence={}, applied=True, reason="test")
    _script, model = team
    summary = await run_agenda(agenda(model), store=store)
    assert summary.paper_id is not None
    report = _critique(store, summary.run.id)
    assert report["severe_flaw_probability"] == 0.0  # the raw one is kept for labels
    assert report["calibrated_probability"] == 0.5
    assert report["probability_version"] == version.label == "c2.investigate@1+recalibration.1"
    # the calibrated 0.5 is in the escalation band: the raw 0.0 would have been accepted
    assert decision_of(store, summary.paper_id) == ["escalate"]
    (judgment,) = [j for j in store.judgments(artifact_id=summary.paper_id)
                   if j.role == "critic-2"]
    assert judgment.score == 0.5
    (request,) = reviews(store, summary.paper_id)
    assert "calibrated by c2.investigate@1+recalibration.1" in request


async def test_a_rejected_recalibration_changes_nothing(
    store: Store, team: tuple[Team, str]
) -> None:
    store.add_critic_version(
        critic="c2.investigate", base_version="1", update=UpdateKind.RECALIBRATION,
        params=LIFT, evidence={}, applied=False, reason="does not help")
    _script, model = team
    summary = await run_agenda(agenda(model), store=store)
    assert summary.paper_id is not None and summary.paper_status == "accepted"
    report = _critique(store, summary.run.id)
    assert report["severe_flaw_probability"] == 0.0
    assert report["calibrated_probability"] is None
    assert report["probability_version"] == "c2.investigate@1"
    assert decision_of(store, summary.paper_id) == ["accept"]
    assert reviews(store, summary.paper_id) == []
