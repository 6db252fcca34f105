"""Critic #2's programmatic checks in the write-up: what they are given, what they store, and
that a critical one escalates the paper like a critical flaw of `c2.review`."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoalign.pipeline import run_agenda
from autoalign.pipeline._evidence import research_evidence
from autoalign.pipeline._schemas import ProjectLog, StepLog
from autoalign.store import Store

from .conftest import ANSWERS, Team
from .test_decisions import reviews
from .test_run import CALLS, agenda

PAPER_CHECKS = ("c2.numbers-match", "c2.claim-strength", "c2.abstract-scope")
FABRICATED = {**ANSWERS["Abstract"], "text": "The penalty cut hacking to 7.777 on every seed."}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


def _paper_flaws(store: Store) -> list[tuple[str | None, str, str, int]]:
    return sorted(
        (f.critic, f.category, f.severity, f.artifact_id)
        for name in PAPER_CHECKS for f in store.flaws(critic=name, critic_version="1")
    )


async def test_the_draft_carries_every_log_number_and_claim_with_its_evidence(
    store: Store, team: tuple[Team, str]
) -> None:
    _script, model = team
    summary = await run_agenda(agenda(model), store=store)
    (log,) = store.artifacts(run_id=summary.run.id, kind="research_log")
    (step_log,) = store.artifacts(run_id=summary.run.id, kind="step_log")
    (claim,) = store.artifacts(run_id=summary.run.id, kind="experiment_claim")
    rows = StepLog.model_validate(step_log.content_json).rows
    numbers, evidence = research_evidence(store, ProjectLog.model_validate(log.content_json))
    assert rows and len(numbers) == len(rows)
    assert [(n.artifact_id, n.run, n.arm, n.metric, n.seed, n.value) for n in numbers] == [
        (step_log.id, r.run, r.arm, r.metric, r.seed, r.value) for r in rows
    ]
    (e,) = evidence
    assert (e.artifact_id, e.question, e.treated_arm) == (
        claim.id, "reward_hacking/repeat_penalty_cuts_hacking", "penalty"
    )
    assert (e.estimate, e.ci_low, e.ci_high, e.probability) == (-0.1, -0.2, 0.0, 0.7)
    assert e.threshold == -0.5 and e.seeds == 2


async def test_a_faithful_paper_gets_no_programmatic_flaw(
    store: Store, team: tuple[Team, str]
) -> None:
    _script, model = team
    summary = await run_agenda(agenda(model), store=store)
    assert summary.run.status == "completed"
    assert _paper_flaws(store) == []
    assert reviews(store, summary.paper_id or 0) == []


async def test_a_fabricated_number_in_the_abstract_is_critical_and_escalates_once(
    store: Store, team: tuple[Team, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    script, model = team
    script.overrides["Abstract"] = lambda _p: FABRICATED
    real = store.add_flaws
    calls = {"n": 0}

    def crash_on_paper_checks(**kwargs: object) -> object:
        if kwargs.get("critic") == "c2.numbers-match":  # the last check: others are stored
            calls["n"] += 1
            raise KeyboardInterrupt
        return real(**kwargs)  # type: ignore[arg-type]  # the same keywords, passed through

    with monkeypatch.context() as patch:
        patch.setattr(store, "add_flaws", crash_on_paper_checks)
        with pytest.raises(KeyboardInterrupt):
            await run_agenda(agenda(model), store=store)
    assert calls["n"] == 1
    assert len(store.flaws(critic="c2.abstract-scope", critic_version="1")) == 1
    done = await run_agenda(agenda(model), store=store)  # resumes: the checks run again
    assert done.run.status == "completed" and len(script.calls) == CALLS
    (abstract,) = store.artifacts(run_id=done.run.id, kind="abstract")
    flaws = store.flaws(critic="c2.numbers-match", critic_version="1")
    assert [(f.artifact_id, f.category, f.severity) for f in flaws] == [
        (abstract.id, "number_mismatch", "critical")
    ]
    assert "7.777" in flaws[0].description and f"artifact {abstract.id}, text [" in (
        flaws[0].description
    )
    assert _paper_flaws(store) == [
        ("c2.abstract-scope", "summary_drift", "major", abstract.id),
        ("c2.numbers-match", "number_mismatch", "critical", abstract.id),
    ]
    # The critical flaw escalates once; it also counts in critic #2's decision (P = 1 above the
    # band, no revision round left in the test agenda: escalated).
    assert reviews(store, done.paper_id or 0) == [
        "c2.numbers-match reports 1 critical flaw(s)",
        "critic-2 escalates: probability 1.00 above the band; the flaws are in the writing, not "
        "the direction; no revision round left: a human decides",
    ]

    # ... and they are in critic #2's report as programmatic flaws, with their critic.
    (critique,) = store.artifacts(run_id=done.run.id, kind="paper_critique")
    assert isinstance(critique.content_json, dict)
    assert sorted((f["critic"], f["status"]) for f in critique.content_json["flaws"]
                  if f["status"] == "programmatic") == [
        ("c2.abstract-scope@1", "programmatic"), ("c2.numbers-match@1", "programmatic"),
    ]

    before = _paper_flaws(store)
    again = await run_agenda(agenda(model), store=store, new=True)
    assert again.run.id != done.run.id
    assert len(_paper_flaws(store)) == 2 * len(before)  # a new run's paper, flagged once
