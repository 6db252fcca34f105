"""Collecting labels of all three kinds from the records that carry them."""

from __future__ import annotations

import asyncio

from autoalign.learning import collect_labels
from autoalign.redteam import Organism, parse_config, run_experiment, run_organism
from autoalign.review import decide
from autoalign.store import Store
from autoalign.vocabulary import (
    Kind,
    LabelKind,
    LabelSource,
    Relation,
    ReviewDecision,
    Stage,
)


def _paper_with_critique(store: Store, probability: float) -> tuple[int, int]:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    paper = store.add_artifact(run_id=run.id, kind=Kind.PAPER, stage=Stage.WRITEUP,
                               content_json={"title": "t"})
    store.add_artifact(run_id=run.id, kind=Kind.PAPER_CRITIQUE, stage=Stage.WRITEUP,
                       content_json={"severe_flaw_probability": probability},
                       parents=[(paper.id, Relation.DERIVED_FROM)])
    return run.id, paper.id


def test_red_team_trials_become_artificial_labels_once(store: Store) -> None:
    config = parse_config({"name": "t", "critics": ["c2.numbers-match", "c1.code-integrity"],
                           "flaw_types": ["number-differs-from-log", "tests-edited"],
                           "injections_per_type": 1, "controls": 1})
    summary = asyncio.run(run_experiment(store, config))
    got = collect_labels(store)
    assert got.added == summary.trials_written == got.total
    assert got.by_kind == {LabelKind.ARTIFICIAL.value: got.added}
    labels = store.labels()
    flawed = [r for r in labels if r.present]
    assert {r.flaw_type for r in flawed} == {"number-differs-from-log", "tests-edited"}
    assert all(not r.present and r.flaw_type is None for r in labels if r not in flawed)
    assert {r.critic.split("@")[0] for r in labels} == {"c2.numbers-match", "c1.code-integrity"}
    assert collect_labels(store).added == 0


def test_an_injection_into_a_real_artifact_is_semi_organic(store: Store) -> None:
    _, paper = _paper_with_critique(store, 0.2)
    exp = store.start_redteam_experiment(name="e", config={}, config_digest="x", seed=0)
    store.add_redteam_injection(
        experiment_id=exp.id, subject_key="db:paper-1/number_differs/0",
        clean_key=f"db:paper-{paper}", flaw_type="number_differs", where="paper",
        method="programmatic", source_artifact_id=paper, artifact_id=paper, field="text",
        span_start=0, span_end=2, before="12", after="21", description="a number changed")
    store.add_redteam_trial(
        experiment_id=exp.id, subject_key="db:paper-1/number_differs/0",
        critic="c2.numbers-match@1", detected=True, flagged=True, probability=None,
        severe=True, matcher="strict", findings=[])
    collect_labels(store)
    (label,) = store.labels()
    assert label.kind == LabelKind.SEMI_ORGANIC and label.artifact_id == paper
    assert label.present and label.detected and label.critic == "c2.numbers-match@1"


def test_human_decisions_label_the_critic_and_critic_2s_stated_probability(
    store: Store,
) -> None:
    _, paper = _paper_with_critique(store, 0.3)
    confirmed = store.add_flaw(artifact_id=paper, category="overclaiming", severity="major",
                               description="d", critic="c2.claim-strength", critic_version="1")
    dismissed = store.add_flaw(artifact_id=paper, category="overclaiming", severity="major",
                               description="e", critic="c2.claim-strength", critic_version="1")
    request = store.add_review_request(artifact_id=paper, reason="check")
    decide(store, request, decision=ReviewDecision.DISMISS, reviewer="ann", flaw_id=dismissed.id)
    decide(store, request, decision=ReviewDecision.UNSURE, reviewer="bob", flaw_id=confirmed.id)
    decide(store, request, decision=ReviewDecision.CONFIRM, reviewer="cy", flaw_id=confirmed.id)
    got = collect_labels(store)
    assert got.by_kind == {LabelKind.ORGANIC.value: 4}  # the unsure decision labels nothing
    labels = store.labels(kinds=[LabelKind.ORGANIC])
    by = {(r.flaw_id, r.critic): r for r in labels}
    assert by[(confirmed.id, "c2.claim-strength@1")].present
    assert by[(confirmed.id, "c2.claim-strength@1")].severe
    assert not by[(dismissed.id, "c2.claim-strength@1")].present
    stated = [r for r in labels if r.critic.startswith("c2.investigate@")]
    assert sorted((r.present, r.probability) for r in stated) == [(False, 0.3), (True, 0.3)]
    assert all(r.source == LabelSource.REVIEW and r.detected is False for r in stated)


def test_a_contradiction_found_later_labels_critic_2_as_having_missed_it(store: Store) -> None:
    run, paper = _paper_with_critique(store, 0.1)
    report = store.add_artifact(run_id=run, kind=Kind.PAPER_CRITIQUE, stage=Stage.CROSSCHECK,
                                content_json={})
    store.add_flaw(artifact_id=paper, category="contradiction", severity="critical",
                   description="a later result says otherwise", found_by_id=report.id,
                   critic="c3.pairs", critic_version="1")
    collect_labels(store)
    labels = store.labels()
    assert {r.source for r in labels} == {LabelSource.CONTRADICTION}
    missed = [r for r in labels if r.critic]
    assert len(missed) == 1 and missed[0].detected is False and missed[0].probability == 0.1
    assert all(r.present and r.severe and r.kind == LabelKind.ORGANIC for r in labels)


async def test_organism_projects_label_every_critic_that_ran_flawed_and_clean(
    store: Store,
) -> None:
    fabricator = Organism(name="fabricator", rates={"invented_number": 1.0})
    flawed = await run_organism(store, fabricator, seed=0, project=0)
    clean = await run_organism(store, Organism(name="honest"), seed=0, project=0)
    collect_labels(store)
    labels = store.labels()
    assert {r.source for r in labels} == {LabelSource.ORGANISM}
    assert {r.kind for r in labels} == {LabelKind.ARTIFICIAL}
    by = {(r.subject, r.critic): r for r in labels}
    caught = by[(f"organism:{flawed.run_id}:invented_number", "c1.numbers-match@1")]
    assert caught.present and caught.detected and caught.flaw_type == "unproduced-result"
    control = by[(f"organism:{clean.run_id}:control", "c1.numbers-match@1")]
    assert not control.present and control.detected is False
    stated = by[(f"organism:{flawed.run_id}:invented_number", "c2.investigate@1")]
    assert stated.probability is not None


async def test_a_flaw_a_rereview_found_labels_critic_2s_earlier_critique(store: Store) -> None:
    run, paper = _paper_with_critique(store, 0.05)
    missed = store.add_flaw(artifact_id=paper, category="overclaiming", severity="minor",
                            description="found on a second look", critic="c2.claim-strength",
                            critic_version="1")
    store.add_artifact(run_id=run, kind=Kind.REREVIEW, stage=Stage.REREVIEW,
                       content_json={"paper_id": paper, "new_flaws": [missed.id]})
    collect_labels(store)
    (later,) = [r for r in store.labels() if r.critic]
    assert later.source == LabelSource.REREVIEW and later.flaw_id == missed.id
    assert later.present and not later.severe and later.detected is False
    assert later.probability == 0.05
