"""Across the pipeline: a confirmed flaw taints exactly what is downstream and sets off the
run's rollback policy; `rereview` re-reviews papers with the current critics and records what
changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoalign.pipeline import open_requests, rereview, run_agenda
from autoalign.review import decide
from autoalign.store import Store
from autoalign.vocabulary import ReviewDecision

from .conftest import Team
from .test_decisions import CRITICAL_CLAIM, candidates, check
from .test_run import agenda


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


@pytest.mark.parametrize("policy", ["re-review", "regenerate", "none"])
async def test_a_confirmed_flaw_taints_exactly_downstream_and_sets_off_the_policy(
    store: Store, team: tuple[Team, str], policy: str
) -> None:
    _script, model = team
    summary = await run_agenda(agenda(model, rollback={"policy": policy}), store=store)
    run_id, paper = summary.run.id, summary.paper_id
    assert paper is not None
    (main,) = store.artifacts(run_id=run_id, kind="main_text")
    (log,) = store.artifacts(run_id=run_id, kind="research_log")
    before = {a.id: a.status for a in store.artifacts(run_id=run_id)}
    downstream = set(store.descendants(main.id))
    assert paper in downstream and log.id not in downstream

    request = store.add_review_request(artifact_id=main.id, reason="the main text overclaims")
    decide(store, request, decision=ReviewDecision.CONFIRM, reviewer="alice")

    after = {a.id: a.status for a in store.artifacts(run_id=run_id) if a.id in before}
    changed = {i for i in before if after[i] != before[i]}
    assert changed == downstream | {main.id}
    assert after[main.id] == "flawed"
    assert {after[i] for i in downstream} == {"tainted"}
    (claim,) = store.claims(artifact_id=paper)

    asked = store.artifacts(run_id=run_id, kind="rereview_request")
    regenerate = store.artifacts(run_id=run_id, kind="regeneration_request")
    if policy == "none":
        assert asked == [] and regenerate == []
        return
    (request_artifact,) = asked
    assert request_artifact.content_json["paper_ids"] == [paper]
    assert str(claim.id) in request_artifact.content_json["reason"]
    assert store.parents(request_artifact.id) == []  # a later rollback cannot taint it
    if policy == "regenerate":
        (regen,) = regenerate
        assert regen.content_json["research_log_ids"] == [log.id]  # the log is not tainted
    else:
        assert regenerate == []
    # Confirming again asks nothing twice.
    decide(store, request, decision=ReviewDecision.CONFIRM, reviewer="bob")
    assert len(store.artifacts(run_id=run_id, kind="rereview_request")) == 1


async def test_rereview_reports_a_changed_decision_and_escalates_it(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    summary = await run_agenda(agenda(model), store=store)
    paper = summary.paper_id
    assert paper is not None and summary.paper_status == "accepted"
    # Critic #2 now finds a critical flaw the first review did not confirm.
    script.overrides.update(
        FlawCandidates=candidates(CRITICAL_CLAIM, severe=95, recommend="halt"),
        FlawCheck=check(severity="critical", confidence=90),
    )

    report = await rereview(store, sample=1, seed=0)
    (done,) = report.reviewed
    assert (done.paper_id, done.before, done.after, done.changed) == (
        paper, "accept", "halt", True
    )
    assert done.new_flaws and all(
        store.flaw(f).severity == "critical" for f in done.new_flaws
    )
    (record,) = store.artifacts(run_id=report.run_id, kind="rereview")
    assert record.content_json["after"] == "halt"
    assert paper in {e.parent_id for e in store.parents(record.id)}
    # The same critic #2 as the write-up's: babble instances, investigations, one report,
    # whose judgment names the decision.
    kinds = [a.kind for a in store.artifacts(run_id=report.run_id)]
    instances = agenda(model).critic2.instances
    assert kinds.count("flaw_candidates") == instances and kinds.count("paper_critique") == 1
    assert [j.decision for j in store.judgments(artifact_id=paper)
            if j.role == "critic-2"] == ["accept", "halt"]
    # The status is left to a human: the paper stays accepted, with a review request, and its
    # proposal is not halted by a re-review.
    assert store.artifact(paper).status == "accepted"
    assert store.artifacts(run_id=report.run_id, kind="direction_decision") == []
    reasons = [r.reason for r in store.review_requests() if r.artifact_id == paper]
    assert reasons == ["re-review: critic-2 decided halt, was accept"]
    assert store.get_run(report.run_id).status == "completed"


async def test_rereview_acts_on_open_requests_first_and_then_closes_them(
    store: Store, team: tuple[Team, str]
) -> None:
    _script, model = team
    summary = await run_agenda(agenda(model), store=store)
    paper = summary.paper_id
    assert paper is not None
    (main,) = store.artifacts(run_id=summary.run.id, kind="main_text")
    request = store.add_review_request(artifact_id=main.id, reason="check it")
    decide(store, request, decision=ReviewDecision.CONFIRM, reviewer="alice")
    (asked,) = open_requests(store)

    report = await rereview(store, sample=0, seed=0)
    assert [r.paper_id for r in report.reviewed] == [paper]  # tainted, but asked for
    assert report.requests == (asked[0],)
    (record,) = store.artifacts(run_id=report.run_id, kind="rereview")
    assert asked[0] in {e.parent_id for e in store.parents(record.id)}
    assert record.content_json["changed"] is False  # same critique, same decision
    assert open_requests(store) == []
    again = await rereview(store, sample=0, seed=0)
    assert again.reviewed == ()
