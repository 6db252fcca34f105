"""Stage 4 across papers: clusters, critic #3's pairs, over-represented evidence, calibration,
the actions a contradiction sets off, and rounds that feed stage 4 back into stage 1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autoalign.agenda import Agenda
from autoalign.pipeline import NullProgress, run_agenda
from autoalign.store import Store

from .conftest import ANSWERS, Team
from .test_run import agenda


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


def across(model: str, name: str, **overrides: Any) -> Agenda:
    """The test agenda with stage 4 on; a distinct `name` makes a distinct agenda (a new run)."""
    run = {"name": name, **overrides.pop("run", {})}
    return agenda(model, run=run, crosscheck={"enabled": True}, **overrides)


def verdict(relation: str) -> dict[str, str]:
    return {"relation": relation, "rationale": f"Judged {relation}."}


async def two_papers(store: Store, model: str, **overrides: Any) -> tuple[int, int, int]:
    """Two runs, one accepted paper each; returns both papers and the second run."""
    first = await run_agenda(across(model, "first"), store=store)
    second = await run_agenda(across(model, "second", **overrides), store=store)
    assert first.run.status == "completed", first.run.stop_reason
    assert second.run.status == "completed", second.run.stop_reason
    assert first.paper_id is not None and second.paper_id is not None
    return first.paper_id, second.paper_id, second.run.id


async def test_stage4_is_off_unless_the_agenda_enables_it(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    summary = await run_agenda(agenda(model), store=store)
    assert summary.artifacts_per_stage["crosscheck"] == 0
    assert script.count("FieldSummary") == 0 and script.count("PairVerdict") == 0


async def test_one_paper_gets_a_cluster_and_a_summary_and_no_pair(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    summary = await run_agenda(across(model, "first"), store=store)
    run_id, paper = summary.run.id, summary.paper_id
    (cluster,) = store.artifacts(run_id=run_id, kind="cluster")
    assert cluster.content_json["members"] == [paper]
    (field,) = store.artifacts(run_id=run_id, kind="field_summary")
    assert {(e.parent_id, e.relation) for e in store.parents(field.id)} == {
        (cluster.id, "derived_from"), (paper, "summarises")
    }
    assert store.artifacts(run_id=run_id, kind="pair_judgment") == []
    assert script.count("PairVerdict") == 0
    (calibration,) = store.artifacts(run_id=run_id, kind="calibration")
    (claim,) = calibration.content_json["claims"]
    assert claim["probability"] == pytest.approx(0.6)  # stated, nothing to move it


async def test_a_contradiction_between_two_papers_is_a_flaw_on_both(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["PairVerdict"] = lambda _p: verdict("contradiction")
    first, second, run_id = await two_papers(store, model)

    (judged,) = store.artifacts(run_id=run_id, kind="pair_judgment")
    rows = store.judgments(judge_artifact_id=judged.id)
    assert sorted(r.artifact_id for r in rows) == [first, second]
    assert {r.decision for r in rows} == {"contradiction"}
    for paper in (first, second):
        (flaw,) = [f for f in store.flaws(artifact_id=paper) if f.category == "contradiction"]
        assert flaw.critic == "c3.pairs" and flaw.found_by_id == judged.id
    # The actions: a discussion, a deeper critic-#2 pass on both papers, a project seed.
    (discussion,) = store.artifacts(run_id=run_id, kind="discussion")
    assert judged.id in {e.parent_id for e in store.parents(discussion.id)}
    (request,) = store.artifacts(run_id=run_id, kind="rereview_request")
    assert sorted(request.content_json["paper_ids"]) == [first, second]
    (seed,) = store.artifacts(run_id=run_id, kind="project_seed")
    assert seed.content_json["title"].startswith("Resolve:")
    # Contradicting evidence halves each claim's odds.
    (calibration,) = store.artifacts(run_id=run_id, kind="calibration")
    for claim in calibration.content_json["claims"]:
        assert claim["contradicting"] == 1
        assert claim["probability"] == pytest.approx(0.6 / (0.6 + 2 * 0.4), abs=1e-4)
    # The second run's cluster is new (both papers); the first run's summary was not redone.
    (cluster,) = store.artifacts(run_id=run_id, kind="cluster")
    assert cluster.content_json["members"] == [first, second]
    assert script.count("FieldSummary") == 2


async def test_a_pair_judged_before_is_not_asked_again(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["PairVerdict"] = lambda _p: verdict("contradiction")
    await two_papers(store, model)
    before = {a.step_key for a in store.artifacts(kind="pair_judgment")}
    assert len(before) == 1
    third = await run_agenda(across(model, "third"), store=store)
    assert third.run.status == "completed" and third.paper_id is not None
    (claim,) = store.claims(artifact_id=third.paper_id)
    judged = [a.step_key or "" for a in store.artifacts(run_id=third.run.id, kind="pair_judgment")]
    # Only the pairs the third paper brings are judged; the first pair is reused, not re-asked.
    assert len(judged) == 2 and not before & set(judged)
    assert all(str(claim.id) in key.removeprefix("crosscheck/pair/").split("-") for key in judged)
    (calibration,) = store.artifacts(run_id=third.run.id, kind="calibration")
    assert [c["contradicting"] for c in calibration.content_json["claims"]] == [2, 2, 2]


async def test_convergence_resting_on_one_testbed_is_flagged_over_represented(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["PairVerdict"] = lambda _p: verdict("convergence")
    first, second, run_id = await two_papers(store, model)

    (check,) = store.artifacts(run_id=run_id, kind="evidence_check")
    flags = check.content_json["flags"]
    assert sorted(f["paper_id"] for f in flags) == [first, second]
    assert all(f["testbeds"] == ["reward_hacking"] for f in flags)
    for paper in (first, second):
        (flaw,) = [
            f for f in store.flaws(artifact_id=paper) if f.category == "over_represented_evidence"
        ]
        assert flaw.critic == "c3.evidence" and flaw.found_by_id == check.id
    # Not independent: the convergence moves nothing.
    (calibration,) = store.artifacts(run_id=run_id, kind="calibration")
    for claim in calibration.content_json["claims"]:
        assert (claim["convergent"], claim["not_independent"]) == (0, 1)
        assert claim["probability"] == pytest.approx(0.6)
    assert store.artifacts(run_id=run_id, kind="project_seed") == []


async def test_two_rounds_feed_a_seed_from_stage4_into_the_next_stage1(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["PairVerdict"] = lambda _p: verdict("contradiction")
    await run_agenda(across(model, "first"), store=store)
    summary = await run_agenda(across(model, "second"), store=store, rounds=2)
    assert summary.run.status == "completed", summary.run.stop_reason
    run_id = summary.run.id

    # Round 0's stage 4 seeded projects (round 1's may seed more, for a round 2).
    seeds = [s for s in store.artifacts(run_id=run_id, kind="project_seed")
             if "@" not in (s.step_key or "")]
    assert seeds
    ideas = [
        a for a in store.artifacts(run_id=run_id, kind="idea")
        if a.step_key and a.step_key.startswith("propose/idea/seed/")
    ]
    assert [a.step_key for a in ideas] == [f"propose/idea/seed/{j}@1" for j in range(len(seeds))]
    assert [e.parent_id for e in store.parents(ideas[0].id)] == [seeds[0].id]
    assert store.judgments(artifact_id=ideas[0].id)  # judged like the babbled ideas
    # Each round's steps have their own keys; round 1 wrote a second paper.
    keys = [a.step_key for a in store.artifacts(run_id=run_id)]
    assert len(keys) == len(set(keys))
    assert len(store.artifacts(run_id=run_id, kind="paper")) == 2
    assert store.artifact_by_step(run_id, "crosscheck/calibration@1") is not None


class Steps(NullProgress):
    """Records the key of every step a run walks."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def step(self, key: str, outcome: str) -> None:
        self.keys.append(key)


async def test_a_run_of_two_rounds_stopped_in_round_1_resumes_there(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    await run_agenda(across(model, "first"), store=store)
    strict = across(model, "second", run={"on_failure": "stop", "seed": 5})
    abstracts = {"n": 0}

    def fail_in_round_1(prompt: str) -> Any:
        abstracts["n"] += 1
        if abstracts["n"] >= 2:  # round 1's abstract, and its re-asks
            return "not an abstract"
        return ANSWERS["Abstract"]

    script.overrides["Abstract"] = fail_in_round_1
    stopped = await run_agenda(strict, store=store, rounds=2)
    assert stopped.run.status == "stopped"
    assert (stopped.run.stop_reason or "").startswith("[round 1 of 2] step writeup/abstract@1")
    walked = Steps()
    done = await run_agenda(strict, store=store, rounds=2, progress=walked)
    assert done.run.id == stopped.run.id and done.run.status == "completed"
    # The resumed run starts in round 1: no step of round 0 is walked again.
    assert walked.keys and all(key.endswith("@1") for key in walked.keys)


@pytest.mark.parametrize("papers", [["accepted"], ["accepted", "escalated"]])
async def test_an_escalated_paper_is_in_the_corpus_only_when_asked(
    store: Store, team: tuple[Team, str], papers: list[str]
) -> None:
    # Critic #2's instances disagree, so the paper is escalated to a human.
    script, model = team
    script.overrides["FlawCandidates"] = lambda p: {
        **ANSWERS["FlawCandidates"], "flaws": [],
        "severe_flaw_percent": 90 if "<main_text>" in p and "<appendix>" not in p else 10,
    }
    summary = await run_agenda(
        agenda(model, crosscheck={"enabled": True, "papers": papers}), store=store
    )
    assert summary.paper_status == "escalated"
    clusters = store.artifacts(run_id=summary.run.id, kind="cluster")
    if "escalated" in papers:
        (cluster,) = clusters
        assert cluster.content_json["members"] == [summary.paper_id]
    else:
        assert clusters == []
