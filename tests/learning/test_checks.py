"""Expensive checks where they matter: which accepted papers are load-bearing, the deeper
reviews scheduled for them within the budget, and the confused-critic decisions, as records in
the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoalign.agenda import LearningSection
from autoalign.errors import DataError
from autoalign.learning import REVIEW_KINDS, load_bearing, schedule_load_bearing
from autoalign.pipeline import RereviewRequest
from autoalign.store import Store
from autoalign.vocabulary import (
    CheckKind,
    CheckOutcome,
    CheckTrigger,
    Kind,
    ReviewDecision,
    Stage,
    Status,
)

K = 3

CASE = """\
G1:
  text: Few papers are flawed.
  supportedBy: [Sn1]
Sn1:
  text: Flawed-paper rate.
  x-evidence:
    metric: "db:papers.flawed_rate"
    bound: upper
    comparison: "<="
    threshold: 0.5
"""


def settings(**values: object) -> LearningSection:
    return LearningSection.model_validate(
        {"load_bearing_descendants": K, "deep_reviews": 5, "case_evidence": False, **values})


def paper(store: Store, run_id: int, *, descendants: int = 0,
          status: Status = Status.ACCEPTED) -> int:
    """An accepted paper with `descendants` artifacts built on it (a chain under one child)."""
    p = store.add_artifact(run_id=run_id, kind=Kind.PAPER, stage=Stage.WRITEUP,
                           content_text="a paper").id
    store.set_status(p, status, reason="test")
    parent = p
    for i in range(descendants):
        parent = store.add_artifact(run_id=run_id, kind=Kind.IDEA, stage=Stage.PROPOSE,
                                    content_text=f"built on it {i}", parents=[parent]).id
    return p


@pytest.fixture
def run_id(store: Store) -> int:
    return store.create_run(name="r", agenda_digest="d" * 64, config={}).id


def test_a_paper_with_k_descendants_gets_a_deeper_review_and_one_under_k_does_not(
    store: Store, run_id: int,
) -> None:
    heavy = paper(store, run_id, descendants=K)
    light = paper(store, run_id, descendants=K - 1)
    rejected = paper(store, run_id, descendants=K + 2, status=Status.REJECTED)
    done = schedule_load_bearing(store, settings(), run_id=run_id)
    (record,) = done
    assert (record.paper_id, record.kind, record.trigger, record.descendants, record.outcome) == (
        heavy, CheckKind.DEEP_REVIEW, CheckTrigger.DESCENDANTS, K, CheckOutcome.SCHEDULED)
    assert record.run_id == run_id and record.request_artifact_id is not None
    assert store.learning_checks() == [record]
    assert not store.learning_checks(paper_id=light)
    assert not store.learning_checks(paper_id=rejected)
    # The request `autoalign rereview` acts on: the paper, with the deeper scrutiny, and no
    # provenance edge (a later rollback must not taint it; it is no descendant either).
    request = store.artifact(record.request_artifact_id)
    assert request.kind == Kind.REREVIEW_REQUEST and store.parents(request.id) == []
    asked = RereviewRequest.model_validate(request.content_json)
    deep = settings().deep_scrutiny
    assert asked.paper_ids == [heavy]
    assert (asked.extra_critics, asked.escalation_drop) == (deep.extra_critics,
                                                             deep.escalation_drop)


def test_a_papers_own_reviews_do_not_make_it_load_bearing(store: Store, run_id: int) -> None:
    p = paper(store, run_id, descendants=K - 1)
    for kind in sorted(REVIEW_KINDS):
        store.add_artifact(run_id=run_id, kind=kind, stage=Stage.WRITEUP, parents=[p])
    assert store.count_descendants_except([p], kinds=REVIEW_KINDS) == {p: K - 1}
    assert store.count_descendants(p) == K - 1 + len(REVIEW_KINDS)
    assert schedule_load_bearing(store, settings()) == []
    assert store.learning_checks() == []


def test_the_budget_caps_the_count_most_descendants_first_and_skips_are_recorded(
    store: Store, run_id: int,
) -> None:
    a = paper(store, run_id, descendants=K)
    b = paper(store, run_id, descendants=K + 2)
    c = paper(store, run_id, descendants=K + 1)
    first = schedule_load_bearing(store, settings(deep_reviews=1), run_id=run_id)
    assert [(r.paper_id, r.outcome) for r in first] == [
        (b, CheckOutcome.SCHEDULED), (c, CheckOutcome.SKIPPED_BUDGET),
        (a, CheckOutcome.SKIPPED_BUDGET),
    ]
    assert all("budget (1) is spent" in r.reason for r in first[1:])
    assert all(r.request_artifact_id is None for r in first[1:])
    assert len(store.artifacts(kind=Kind.REREVIEW_REQUEST)) == 1
    # The next pass schedules the next one; the same skip is not recorded twice.
    second = schedule_load_bearing(store, settings(deep_reviews=1), run_id=run_id)
    assert [(r.paper_id, r.outcome) for r in second] == [
        (c, CheckOutcome.SCHEDULED), (a, CheckOutcome.SKIPPED_BUDGET)]
    assert second[1].id == first[2].id
    assert [(r.paper_id, r.outcome) for r in store.learning_checks()] == [
        (b, CheckOutcome.SCHEDULED), (c, CheckOutcome.SKIPPED_BUDGET),
        (a, CheckOutcome.SKIPPED_BUDGET), (c, CheckOutcome.SCHEDULED),
    ]


def test_scheduling_twice_does_not_duplicate(store: Store, run_id: int) -> None:
    p = paper(store, run_id, descendants=K)
    (once,) = schedule_load_bearing(store, settings(), run_id=run_id)
    # More descendants later: still scheduled once.
    store.add_artifact(run_id=run_id, kind=Kind.IDEA, stage=Stage.PROPOSE, parents=[p])
    assert schedule_load_bearing(store, settings(), run_id=run_id) == []
    assert store.learning_checks() == [once]
    assert len(store.artifacts(kind=Kind.REREVIEW_REQUEST)) == 1
    assert once.request_artifact_id is not None
    again, new = store.schedule_deep_review(
        paper_id=p, trigger=CheckTrigger.DESCENDANTS,
        request_artifact_id=once.request_artifact_id, reason="again")
    assert again == once and not new


def test_deep_reviews_zero_does_nothing(store: Store, run_id: int) -> None:
    paper(store, run_id, descendants=K + 5)
    assert schedule_load_bearing(store, settings(deep_reviews=0)) == []
    assert store.learning_checks() == [] and store.artifacts(kind=Kind.REREVIEW_REQUEST) == []


def test_a_paper_feeding_a_registered_cases_metric_is_load_bearing(
    store: Store, run_id: int, tmp_path: Path,
) -> None:
    p = paper(store, run_id, descendants=1)
    case = tmp_path / "case.yaml"
    case.write_text(CASE)
    store.register_case(name="papers", path=str(case))
    assert load_bearing(store, settings()) == []  # case_evidence off
    (record,) = schedule_load_bearing(store, settings(case_evidence=True), run_id=run_id)
    assert (record.paper_id, record.trigger, record.case_name, record.metric, record.outcome) == (
        p, CheckTrigger.CASE_EVIDENCE, "papers", "db:papers.flawed_rate", CheckOutcome.SCHEDULED)
    assert record.descendants == 1
    assert "safety case papers" in record.reason


def _report(store: Store, run_id: int, p: int) -> int:
    return store.add_artifact(run_id=run_id, kind=Kind.PAPER_CRITIQUE, stage=Stage.WRITEUP,
                              parents=[p]).id


def test_confused_escalations_respect_the_runs_budget_and_open_requests(
    store: Store, run_id: int,
) -> None:
    a, b, c = (paper(store, run_id) for _ in range(3))
    ra, rb, rc = (_report(store, run_id, p) for p in (a, b, c))
    first = store.escalate_confused(run_id=run_id, paper_id=a, report_id=ra,
                                    trigger=CheckTrigger.CONFUSED_BAND, reason="confused a",
                                    budget=1)
    assert first.outcome == CheckOutcome.ESCALATED
    (request,) = store.review_requests()
    assert (request.id, request.artifact_id, request.reason) == (
        first.review_request_id, a, "confused a")
    # The same report decides nothing anew.
    assert store.escalate_confused(run_id=run_id, paper_id=a, report_id=ra,
                                   trigger=CheckTrigger.CONFUSED_BAND, reason="confused a",
                                   budget=1) == first
    spent = store.escalate_confused(run_id=run_id, paper_id=b, report_id=rb,
                                    trigger=CheckTrigger.INSTANCE_SPREAD, reason="confused b",
                                    budget=1)
    assert spent.outcome == CheckOutcome.SKIPPED_BUDGET and spent.review_request_id is None
    assert len(store.review_requests()) == 1
    # A request already open on the paper: none is added.
    open_c = store.add_review_request(artifact_id=c, reason="a human should look")
    other_run = store.create_run(name="r2", agenda_digest="e" * 64, config={}).id
    kept = store.escalate_confused(run_id=other_run, paper_id=c, report_id=rc,
                                   trigger=CheckTrigger.CONFUSED_BAND, reason="confused c",
                                   budget=1)
    assert (kept.outcome, kept.review_request_id) == (CheckOutcome.ALREADY_OPEN, open_c)
    assert len(store.review_requests()) == 2
    assert [r.outcome for r in store.learning_checks(kind=CheckKind.HUMAN_ESCALATION)] == [
        CheckOutcome.ESCALATED, CheckOutcome.SKIPPED_BUDGET, CheckOutcome.ALREADY_OPEN]
    # Once resolved, a request no longer counts as open.
    from autoalign.review import decide

    decide(store, open_c, decision=ReviewDecision.DISMISS, reviewer="alice")
    rc2 = _report(store, other_run, c)
    assert store.escalate_confused(
        run_id=other_run, paper_id=c, report_id=rc2, trigger=CheckTrigger.CONFUSED_BAND,
        reason="confused c again", budget=1).outcome == CheckOutcome.ESCALATED


def test_bad_decisions_are_refused_with_the_value(store: Store, run_id: int) -> None:
    p = paper(store, run_id)
    with pytest.raises(DataError, match="budget must be 0 or more, got -1"):
        store.escalate_confused(run_id=run_id, paper_id=p, report_id=p,
                                trigger=CheckTrigger.CONFUSED_BAND, reason="x", budget=-1)
    with pytest.raises(DataError, match="paper 999999"):
        store.add_learning_check(kind=CheckKind.DEEP_REVIEW, paper_id=999999,
                                 trigger=CheckTrigger.DESCENDANTS,
                                 outcome=CheckOutcome.SKIPPED_BUDGET, reason="x")
