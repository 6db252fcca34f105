"""Stage 1, topics and ideas: cases and their check, comparisons and the Bradley-Terry
allocation, human comparisons, the babble matrix, the merge, and the screen with escalation."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import choix
import numpy as np
import pytest

from autoalign.critics import Comparison, allocate
from autoalign.pipeline import run_agenda, stage1_funnel
from autoalign.pipeline._ideas import _RUBRICS as RUBRICS  # the screening judges' wordings
from autoalign.pipeline._ideas import matrix, screen_decisions
from autoalign.pipeline._topics import N_BOOT, split_budget
from autoalign.review import add_comparison
from autoalign.store import Store
from autoalign.vocabulary import JudgmentSource, Kind, Status

from .conftest import Team, topic_of
from .test_run import agenda


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


def _shares(store: Store, run_id: int) -> dict[str, Any]:
    (record,) = store.artifacts(run_id=run_id, kind=Kind.ALLOCATION)
    return {s["topic"]: s for s in record.content_json["shares"]}


def _prefer_reward_hacking(prompt: str) -> dict[str, str]:
    """A judge that prefers the reward-hacking case whichever position it is shown in."""
    first = prompt.split("First:", 1)[1].split("Second:", 1)[0]
    return {"better": "first" if "(Reward hacking:" in first else "second", "rationale": "r"}


async def test_the_allocation_is_bradley_terry_over_both_orders(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["PairwiseChoice"] = _prefer_reward_hacking
    summary = await run_agenda(agenda(model), store=store)
    assert summary.run.status == "completed", summary.run.stop_reason

    # 4 pairs of cases, each asked in both orders; every pairwise row names both cases.
    rows = [
        j for step in store.artifacts(run_id=summary.run.id, kind=Kind.CASE_COMPARISON)
        for j in store.judgments(judge_artifact_id=step.id)
    ]
    assert len(rows) == 8 and all(r.other_artifact_id is not None for r in rows)
    by_pair: dict[frozenset[int], set[str]] = defaultdict(set)
    for r in rows:
        assert r.other_artifact_id is not None
        by_pair[frozenset((r.artifact_id, r.other_artifact_id))].add(r.decision or "")
    assert len(by_pair) == 4 and all(v == {"first", "second"} for v in by_pair.values())

    # Reward hacking won all four: the shares are choix's fit of 4 decisive comparisons.
    comparisons = [Comparison(a=0, b=1, winner=0)] * 4
    expected = allocate(["Reward hacking", "Probes"], comparisons, n_boot=N_BOOT,
                        seed=summary.run.seed)
    params = choix.ilsr_pairwise(2, [(0, 1)] * 8, alpha=0.01)
    fitted = np.exp(params) / np.exp(params).sum()
    shares = _shares(store, summary.run.id)
    assert shares["Reward hacking"]["share"] == pytest.approx(fitted[0], abs=1e-6)
    assert shares["Reward hacking"]["share"] == pytest.approx(expected.shares[0].share)
    assert shares["Reward hacking"]["low"] == pytest.approx(expected.shares[0].low)
    assert shares["Probes"]["high"] == pytest.approx(expected.shares[1].high)
    assert shares["Reward hacking"]["share"] > 0.9
    # The idea budget (2 topics x 2 samples) follows the shares: all 4 samples to one topic.
    assert [shares[t]["samples"] for t in ("Reward hacking", "Probes")] == [4, 0]
    batches = store.artifacts(run_id=summary.run.id, kind=Kind.IDEA_BATCH)
    assert sorted(b.step_key or "" for b in batches) == [
        f"propose/ideas/0/{s}" for s in range(4)
    ]


async def test_a_verdict_that_follows_the_position_is_a_tie(
    store: Store, team: tuple[Team, str]
) -> None:
    _, model = team  # the scripted judge always names the first case shown
    summary = await run_agenda(agenda(model), store=store)
    (record,) = store.artifacts(run_id=summary.run.id, kind=Kind.ALLOCATION)
    assert record.content_json["n_ties"] == 4
    shares = _shares(store, summary.run.id)
    assert [shares[t]["share"] for t in ("Reward hacking", "Probes")] == pytest.approx([0.5, 0.5])
    assert [shares[t]["samples"] for t in ("Reward hacking", "Probes")] == [2, 2]


async def test_human_comparisons_change_the_allocation(
    db_url: str, team: tuple[Team, str]
) -> None:
    _, model = team
    with Store.open(db_url) as store:  # SQLite, and PostgreSQL when one is configured
        await _human_comparisons_change_the_allocation(store, model)


async def _human_comparisons_change_the_allocation(store: Store, model: str) -> None:
    first = await run_agenda(agenda(model), store=store)
    equal = _shares(store, first.run.id)
    assert equal["Probes"]["share"] == pytest.approx(0.5)
    cases = {
        (c.content_text.split("(", 1)[1].split(":", 1)[0]): c.id
        for c in store.artifacts(run_id=first.run.id, kind=Kind.POSITIVE_CASE)
    }
    for _ in range(2):
        add_comparison(store, cases["Reward hacking"], cases["Probes"], better="second",
                       reviewer="ada")
    humans = store.judgments(source=JudgmentSource.HUMAN)
    assert [(h.reviewer, h.decision, h.model) for h in humans] == [("ada", "second", None)] * 2

    second = await run_agenda(agenda(model), store=store, new=True)
    shares = _shares(store, second.run.id)
    (record,) = store.artifacts(run_id=second.run.id, kind=Kind.ALLOCATION)
    assert (record.content_json["n_human"], record.content_json["human_weight"]) == (2, 3)
    # 4 model ties + 2 human wins for Probes, each counting 3 times.
    expected = allocate(
        ["Reward hacking", "Probes"],
        [Comparison(a=0, b=1, winner=None)] * 4
        + [Comparison(a=0, b=1, winner=1, source="human")] * 2,
        human_weight=3, n_boot=N_BOOT, seed=second.run.seed,
    )
    assert shares["Probes"]["share"] == pytest.approx(expected.shares[1].share)
    assert shares["Probes"]["share"] > 0.7 > equal["Probes"]["share"]
    assert shares["Probes"]["samples"] > shares["Reward hacking"]["samples"]


async def test_a_case_citing_missing_artifacts_is_flagged(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team

    def case(prompt: str) -> dict[str, Any]:
        topic_id = int(prompt.split("[artifact ", 1)[1].split("]", 1)[0])
        cites = [topic_id, 999_999] if "strongest" in prompt else [topic_id]
        return {"case": f"A case ({topic_of(prompt)}: {prompt[:40]})", "key_questions": ["Q?"],
                "cites": cites}

    script.overrides["PositiveCase"] = case
    summary = await run_agenda(agenda(model), store=store)
    flagged = {}
    for c in store.artifacts(run_id=summary.run.id, kind=Kind.POSITIVE_CASE):
        flagged[c.step_key] = [(f.critic, f.category, f.severity)
                               for f in store.flaws(artifact_id=c.id)]
    # Case 0 of each topic is the "strongest honest case" framing, which cited a missing id.
    assert flagged == {
        "propose/positive-case/0/0": [("p1.case-citations", "hallucinated_reference", "major")],
        "propose/positive-case/0/1": [],
        "propose/positive-case/1/0": [("p1.case-citations", "hallucinated_reference", "major")],
        "propose/positive-case/1/1": [],
    }


async def test_an_accepted_paper_of_the_topic_starts_a_case(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    topic = store.add_artifact(run_id=None, kind=Kind.TOPIC, stage="propose",
                               title="Reward hacking", content_text="Reward hacking")
    paper = store.add_artifact(run_id=None, kind=Kind.PAPER, stage="writeup",
                               title="Penalties cut hacking", content_text="We show penalties",
                               parents=[topic.id])
    store.set_status(paper.id, Status.ACCEPTED, reason="test")
    summary = await run_agenda(agenda(model), store=store)
    cases = store.artifacts(run_id=summary.run.id, kind=Kind.POSITIVE_CASE)
    with_paper = [c.step_key for c in cases
                  if any(e.parent_id == paper.id for e in store.parents(c.id))]
    assert with_paper == ["propose/positive-case/0/0"]  # one paper: one case starts from it
    prompts = [p for name, p in script.calls if name == "PositiveCase"]
    assert sum(f"[artifact {paper.id}]" in p for p in prompts) == 1


async def test_repeated_ideas_are_merged_into_the_first(
    store: Store, team: tuple[Team, str]
) -> None:
    _, model = team
    summary = await run_agenda(agenda(model), store=store)
    ideas = {a.id: a for a in store.artifacts(run_id=summary.run.id, kind=Kind.IDEA)}
    (merge,) = store.artifacts(run_id=summary.run.id, kind=Kind.IDEA_MERGE)
    groups = merge.content_json["groups"]
    assert merge.content_json["embedder"] == "tfidf"
    # Sample 1 of each topic repeats sample 0's two ideas: each is merged into sample 0's.
    pairs = sorted((ideas[g["kept"]].step_key, ideas[m].step_key)
                   for g in groups for m in g["merged"])
    assert pairs == [
        (f"propose/idea/{t}/0/{j}", f"propose/idea/{t}/1/{j}") for t in (0, 1) for j in (0, 1)
    ]
    for g in groups:
        for m in g["merged"]:
            assert ideas[m].status == Status.MERGED
            assert f"merged into idea {g['kept']}" in (store.status_history(m)[-1].reason or "")
    # Merged ideas are not judged.
    judged = {e.parent_id for j in store.artifacts(run_id=summary.run.id,
                                                   kind=Kind.IDEA_JUDGMENT)
              for e in store.parents(j.id)}
    assert judged.isdisjoint(m for g in groups for m in g["merged"])


def test_the_babble_matrix_varies_direction_then_context_then_persona() -> None:
    cells = matrix(3)
    assert len(cells) == 2 * 2 * 3
    assert [(c.direction, c.context) for c in cells[:4]] == [
        ("forward", "more"), ("backward", "more"), ("forward", "less"), ("backward", "less")
    ]
    assert len({c.persona for c in cells[:4]}) == 1 and len({c.persona for c in cells}) == 3


def test_the_budget_splits_by_largest_remainder() -> None:
    assert split_budget([0.5, 0.5], 4) == [2, 2]
    assert split_budget([0.7, 0.2, 0.1], 6) == [4, 1, 1]  # 4.2, 1.2, 0.6
    assert split_budget([0.98, 0.02], 4) == [4, 0]


def test_the_screen_keeps_ten_percent_and_the_best_of_each_topic() -> None:
    # 20 scored ideas: topic 0 scores 20..11, topic 1 scores 10..1; one idea has no score.
    judged: list[tuple[int, float | None]] = [(0, float(20 - k)) for k in range(10)]
    judged += [(1, float(10 - k)) for k in range(10)] + [(1, None)]
    kept = screen_decisions(judged, {0, 1}, 0.1)
    # 10% of 20 is 2: the best overall (topic 0's 20) and topic 1's best (10), not 19.
    assert sorted(kept) == [0, 10]
    assert kept[10] == "the best-scored idea of its topic"
    # Topic 1 got no budget: the 10% are the two best overall.
    assert sorted(screen_decisions(judged, {0}, 0.1)) == [0, 1]
    # A larger share; ties go to the earlier idea.
    tied: list[tuple[int, float | None]] = [(0, 5.0), (0, 7.0), (0, 7.0), (0, 5.0)]
    assert sorted(screen_decisions(tied, {0}, 0.5)) == [1, 2]
    assert sorted(screen_decisions(tied, {0}, 0.25)) == [1]
    assert screen_decisions([(0, None)], {0}, 0.1) == {}
    assert math.ceil(0.1 * 30 - 1e-9) == 3  # the share is not inflated by float error


async def test_the_screen_records_every_decision_as_a_status(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    score = {"Penalty": 8, "Noise": 4}

    def rubric(prompt: str) -> dict[str, Any]:
        if "<idea>" not in prompt:
            return {"score": 6, "rationale": "a case"}
        idea = prompt.split("<idea>\n", 1)[1]
        return {"score": next(v for k, v in score.items() if idea.startswith(k)),
                "rationale": "r"}

    script.overrides["RubricScore"] = rubric
    summary = await run_agenda(agenda(model), store=store)
    statuses = {a.step_key: (a.status, store.status_history(a.id)[-1].reason)
                for a in store.artifacts(run_id=summary.run.id, kind=Kind.IDEA)}
    # Each topic keeps its best idea (penalty, 8); the noise ideas (4) are screened out.
    for t in (0, 1):
        assert statuses[f"propose/idea/{t}/0/0"][0] == Status.SCREENED_IN
        status, reason = statuses[f"propose/idea/{t}/0/1"]
        assert status == Status.SCREENED_OUT
        assert reason is not None and reason.startswith("median judge score 4 (n=2) below")
    funnel = stage1_funnel(store, summary.run.id)
    assert [(r.step, r.count) for r in funnel.rows] == [
        ("positive cases", 4), ("ideas babbled", 8), ("after merge", 4), ("after screen", 2),
        ("proposals", 2), ("selected", 1),
    ]
    assert sorted(d.status for d in funnel.dropped) == ["merged"] * 4 + ["screened_out"] * 2
    assert funnel.agreement is not None and (funnel.agreement.agreed, funnel.agreement.ideas) == (
        4, 4
    )


async def test_judges_who_disagree_are_joined_by_more_and_then_by_a_human(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    # Per idea, the scores its judges give in the order they are asked (judge k uses rubric
    # wording k % 3, so judge 3 repeats judge 0's prompt with its own seed).
    plan = {
        "Penalty": {0: [2, 8], 1: [9], 2: [9]},  # 2 vs 9, then 9 and 8: three agree
        "Noise": {0: [2, 9], 1: [9], 2: [2]},  # 2 vs 9, then 2 and 9: two camps
    }
    asked: dict[tuple[str, int], int] = defaultdict(int)

    def rubric(prompt: str) -> dict[str, Any]:
        if "<idea>" not in prompt:
            return {"score": 6, "rationale": "a case"}
        idea = next(k for k in plan if prompt.split("<idea>\n", 1)[1].startswith(k))
        wording = next(k for k, text in enumerate(RUBRICS) if prompt.startswith(text))
        n = asked[idea, wording]
        asked[idea, wording] += 1
        return {"score": plan[idea][wording][n], "rationale": "r"}

    script.overrides["RubricScore"] = rubric
    one_topic = agenda(model).model_copy(update={"topics": agenda(model).topics[:1]})
    summary = await run_agenda(one_topic, store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    ideas = {a.title: a for a in store.artifacts(run_id=summary.run.id, kind=Kind.IDEA)
             if a.status != Status.MERGED}
    penalty, noise = ideas["Penalty study"], ideas["Noise study"]
    # Both were escalated to two more judges: four judgments each, with the judge's model.
    for idea in (penalty, noise):
        rows = store.judgments(artifact_id=idea.id)
        assert len(rows) == 4 and all(r.model == model for r in rows)
    assert sorted(r.score or 0 for r in store.judgments(artifact_id=penalty.id)) == [2, 8, 9, 9]
    assert sorted(r.score or 0 for r in store.judgments(artifact_id=noise.id)) == [2, 2, 9, 9]
    # Three judges agreed on the penalty idea; the noise idea's judges still disagree: a human.
    escalations = store.artifacts(run_id=summary.run.id, kind=Kind.ESCALATION)
    assert [e.content_json["idea_id"] for e in escalations] == [noise.id]
    requests = [r for r in store.review_requests() if r.artifact_id in (penalty.id, noise.id)]
    assert [r.artifact_id for r in requests] == [noise.id]
    assert "judges disagree" in requests[0].reason and "n=4" in requests[0].reason
    (screen,) = store.artifacts(run_id=summary.run.id, kind=Kind.IDEA_SCREEN)
    items = {i["idea_id"]: i for i in screen.content_json["items"]}
    assert (items[penalty.id]["escalated"], items[penalty.id]["human_review"]) == (True, False)
    assert (items[noise.id]["escalated"], items[noise.id]["human_review"]) == (True, True)
    assert items[penalty.id]["score"] == 8.5 and items[noise.id]["score"] == 5.5
    # The two more judges were asked because the first two disagreed: they follow them, so the
    # run's dependency graph (and its critical path) has them after the first two.
    for idea in (penalty, noise):
        judges = {a.step_key: a.id for a in store.artifacts(run_id=summary.run.id,
                                                             kind=Kind.IDEA_JUDGMENT)
                  if any(e.parent_id == idea.id for e in store.parents(a.id))}
        first = {v for k, v in judges.items() if int(k.rsplit("/", 1)[1]) < 2}
        for key, judge in judges.items():
            follows = {e.parent_id for e in store.parents(judge) if e.relation == "follows"}
            assert follows == (first if int(key.rsplit("/", 1)[1]) >= 2 else set()), key


async def test_without_more_judges_a_disagreement_goes_to_a_human_at_once(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["RubricScore"] = lambda prompt: {
        "score": 2 if prompt.startswith(RUBRICS[0]) and "<idea>" in prompt else 9,
        "rationale": "r",
    }
    base = agenda(model, pipeline={"escalation_judges": 0})
    summary = await run_agenda(base.model_copy(update={"topics": base.topics[:1]}), store=store)
    ideas = [a for a in store.artifacts(run_id=summary.run.id, kind=Kind.IDEA)
             if a.status != Status.MERGED]
    assert len(ideas) == 2
    for idea in ideas:
        assert sorted(r.score or 0 for r in store.judgments(artifact_id=idea.id)) == [2, 9]
    requests = [r for r in store.review_requests() if r.artifact_id in {i.id for i in ideas}]
    assert sorted(r.artifact_id for r in requests) == sorted(i.id for i in ideas)
    assert all("no more judges to ask" in r.reason for r in requests)
