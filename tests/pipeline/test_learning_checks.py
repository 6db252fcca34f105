"""Expensive checks where they matter, through the pipeline with the scripted team: a
load-bearing paper's deeper review is scheduled and `rereview` performs it with the deeper
scrutiny; a confused critic #2 opens a human review request within the run's budget."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from autoalign.learning import check_yield, schedule_load_bearing
from autoalign.pipeline import open_requests, rereview, run_agenda
from autoalign.review import decide
from autoalign.store import Store
from autoalign.vocabulary import (
    CheckKind,
    CheckOutcome,
    CheckTrigger,
    Kind,
    ReviewDecision,
    Stage,
)

from .conftest import CANDIDATE, Team
from .test_decisions import candidates, check
from .test_run import agenda

DEEP = {"extra_critics": 2, "escalation_drop": 0.15}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


async def test_a_load_bearing_paper_gets_a_deeper_review_that_rereview_performs(
    store: Store, team: tuple[Team, str]
) -> None:
    _script, model = team
    plan = agenda(model, learning={"load_bearing_descendants": 2, "deep_reviews": 1,
                                   "case_evidence": False, "deep_scrutiny": DEEP})
    summary = await run_agenda(plan, store=store)
    paper = summary.paper_id
    assert paper is not None and summary.paper_status == "accepted"
    # Its own review (instances, investigation, report) does not make it load-bearing.
    assert schedule_load_bearing(store, plan.learning) == []
    parent = paper
    for i in range(2):  # two artifacts built on the paper
        parent = store.add_artifact(run_id=summary.run.id, kind=Kind.IDEA, stage=Stage.PROPOSE,
                                    content_text=f"idea {i}", parents=[parent]).id
    (record,) = schedule_load_bearing(store, plan.learning, run_id=summary.run.id)
    assert (record.paper_id, record.trigger, record.descendants, record.outcome) == (
        paper, CheckTrigger.DESCENDANTS, 2, CheckOutcome.SCHEDULED)
    assert [r for r, _ in open_requests(store)] == [record.request_artifact_id]

    report = await rereview(store, sample=0, seed=0)
    (done,) = report.reviewed
    assert done.paper_id == paper and report.requests == (record.request_artifact_id,)
    (critique,) = store.artifacts(run_id=report.run_id, kind=Kind.PAPER_CRITIQUE)
    # The deeper scrutiny: the paper's last review had none, so exactly the deep one.
    assert critique.content_json["extra_critics"] == DEEP["extra_critics"]
    assert critique.content_json["escalation_drop"] == pytest.approx(DEEP["escalation_drop"])
    low = plan.critic2.escalate_low - DEEP["escalation_drop"]
    assert critique.content_json["band"][0] == pytest.approx(low)
    instances = store.artifacts(run_id=report.run_id, kind=Kind.FLAW_CANDIDATES)
    assert len(instances) == plan.critic2.instances + DEEP["extra_critics"]
    assert open_requests(store) == []
    # Performed once: the next pass schedules nothing for it.
    assert schedule_load_bearing(store, plan.learning) == []
    # The same critique, deeper: nothing changed, and the yield says so (0 of 1).
    found = check_yield(store)
    assert (found.deep_scheduled, found.deep_changed.k, found.deep_changed.n) == (1, 0, 1)


def _confused(model: str, **learning: Any) -> Any:
    return agenda(model, learning={"human_escalations": 1, **learning})


async def test_a_critic_in_the_confused_band_opens_a_review_request_with_the_reason(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    # The instances state 25%; the one candidate is confirmed minor: critic #2 accepts.
    script.overrides["FlawCandidates"] = candidates(CANDIDATE, severe=25)
    summary = await run_agenda(_confused(model, confused_band=[0.2, 0.3]), store=store)
    paper = summary.paper_id
    assert paper is not None and summary.paper_status == "accepted"
    (request,) = store.review_requests()
    assert request.artifact_id == paper
    assert "stated severe-flaw probability 0.25" in request.reason
    assert "confused band [0.20, 0.30]" in request.reason
    (record,) = store.learning_checks(kind=CheckKind.HUMAN_ESCALATION)
    assert (record.paper_id, record.trigger, record.outcome, record.review_request_id) == (
        paper, CheckTrigger.CONFUSED_BAND, CheckOutcome.ESCALATED, request.id)
    assert record.run_id == summary.run.id
    (critique,) = store.artifacts(run_id=summary.run.id, kind=Kind.PAPER_CRITIQUE)
    assert record.report_id == critique.id
    assert store.artifact(paper).status == "accepted"  # the human decides; critic #2's stays
    assert check_yield(store).escalation_confirmed.n == 0
    decide(store, request.id, decision=ReviewDecision.CONFIRM, reviewer="alice")
    found = check_yield(store)
    assert found.escalated == 1
    assert (found.escalation_confirmed.k, found.escalation_confirmed.n) == (1, 1)


async def test_a_critic_outside_the_band_with_agreeing_instances_opens_nothing(
    store: Store, team: tuple[Team, str]
) -> None:
    _script, model = team  # the instances state 10%, both of them
    summary = await run_agenda(_confused(model, confused_band=[0.2, 0.3]), store=store)
    assert summary.paper_status == "accepted"
    assert store.review_requests() == [] and store.learning_checks() == []


async def test_disagreeing_instances_open_a_review_request(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    stated = itertools.cycle([10, 40])  # spread 0.30, under critic #2's own 0.50
    script.overrides["FlawCandidates"] = lambda _p: candidates(
        CANDIDATE, severe=next(stated))(_p)
    summary = await run_agenda(
        _confused(model, confused_band=[0.8, 0.9], instance_spread=0.3), store=store)
    paper = summary.paper_id
    assert paper is not None and summary.paper_status == "accepted"
    (request,) = store.review_requests()
    assert request.artifact_id == paper
    assert "instances disagree: their estimates spread by 0.30" in request.reason
    (record,) = store.learning_checks()
    assert (record.trigger, record.outcome) == (CheckTrigger.INSTANCE_SPREAD,
                                                CheckOutcome.ESCALATED)


async def test_the_runs_escalation_budget_is_respected_and_the_skip_recorded(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["FlawCandidates"] = candidates(CANDIDATE, severe=25)
    # One revision round: the first version gets a minor revision, the revision is accepted;
    # critic #2 is confused on both, and the run may escalate one.
    plan = _confused(model, confused_band=[0.2, 0.3])
    plan = plan.model_copy(update={"critic2": plan.critic2.model_copy(
        update={"revision_rounds": 1})})
    summary = await run_agenda(plan, store=store)
    first, second = store.learning_checks(kind=CheckKind.HUMAN_ESCALATION)
    assert first.outcome == CheckOutcome.ESCALATED
    assert second.outcome == CheckOutcome.SKIPPED_BUDGET and second.review_request_id is None
    assert second.paper_id == summary.paper_id != first.paper_id
    assert [r.artifact_id for r in store.review_requests()] == [first.paper_id]
    assert second.run_id == first.run_id == summary.run.id


async def test_no_second_request_when_critic2_escalates_by_its_own_rules(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides.update(  # a confirmed major flaw, no revision round left: escalate
        FlawCandidates=candidates(CANDIDATE, severe=25),
        FlawCheck=check(severity="major", confidence=100),
    )
    summary = await run_agenda(_confused(model, confused_band=[0.2, 0.3]), store=store)
    assert summary.paper_status == "escalated"
    (request,) = store.review_requests()
    assert request.reason.startswith("critic-2 escalates:")
    assert store.learning_checks() == []


async def test_no_budget_means_no_confused_check(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["FlawCandidates"] = candidates(CANDIDATE, severe=25)
    summary = await run_agenda(agenda(model, learning={"confused_band": [0.2, 0.3]}),
                               store=store)
    assert summary.paper_status == "accepted"
    assert store.review_requests() == [] and store.learning_checks() == []
