"""`db:` metrics read from the research database (SQLite and PostgreSQL): the human review
error rate per critic, the steps' flaw rate, flawed papers and completed runs, each a
proportion with its Wilson interval and n; a missing one is a reason, not a number."""

from __future__ import annotations

from autoalign.calibration import wilson_interval
from autoalign.case import Missing, Reading, Sources, parse_path
from autoalign.store import Store
from autoalign.vocabulary import Kind, ReviewDecision, RunStatus, Stage, Status


def _read(sources: Sources, path: str) -> Reading:
    got = sources.read(parse_path(path), None)
    assert isinstance(got, Reading), got
    return got


def test_database_metrics(store: Store) -> None:
    sources = Sources(store=store)
    empty = sources.read(parse_path("db:review.error_rate"), None)
    assert isinstance(empty, Missing) and "no human decision" in empty.reason
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    steps = [store.add_artifact(run_id=run.id, kind=Kind.STEP_REPORT, stage=Stage.EXECUTE,
                                step_key=f"execute/{i}") for i in range(4)]
    paper = store.add_artifact(run_id=run.id, kind=Kind.PAPER, stage=Stage.WRITEUP,
                               step_key="writeup/paper")
    flaws = [store.add_flaw(artifact_id=steps[i].id, category="c", severity="major",
                            description="d", critic=critic, critic_version="1")
             for i, critic in ((0, "c1.x"), (1, "c1.x"), (2, "c2.y"))]
    request = store.add_review_request(artifact_id=steps[0].id, reason="check")
    store.add_review_label(request_id=request, decision=ReviewDecision.DISMISS,
                           reviewer="ann", flaw_id=flaws[0].id)
    request2 = store.add_review_request(artifact_id=steps[1].id, reason="check")
    store.add_review_label(request_id=request2, decision=ReviewDecision.CONFIRM,
                           reviewer="ann", flaw_id=flaws[1].id)
    request3 = store.add_review_request(artifact_id=steps[2].id, reason="check")
    store.add_review_label(request_id=request3, decision=ReviewDecision.CONFIRM,
                           reviewer="bob", flaw_id=flaws[2].id)
    store.add_review_label(request_id=request3, decision=ReviewDecision.UNSURE, reviewer="cy",
                           flaw_id=flaws[2].id)
    overall = _read(sources, "db:review.error_rate")
    assert (overall.estimate, overall.n) == (1 / 3, 3)  # unsure does not count
    expected = wilson_interval(1, 3)
    assert (overall.low, overall.high) == (expected.low, expected.high)
    c1 = _read(sources, "db:review.error_rate{critic=c1.x@1}")
    assert (c1.estimate, c1.n) == (0.5, 2)
    c2 = _read(sources, "db:review.error_rate{critic=c2.y}")
    assert (c2.estimate, c2.n) == (0.0, 1)
    assert c2.measured_at is not None
    rate = _read(sources, "db:steps.flaw_rate{stage=execute}")
    assert (rate.estimate, rate.n) == (3 / 4, 4)
    store.set_status(paper.id, Status.FLAWED, reason="test")
    papers = _read(sources, "db:papers.flawed_rate")
    assert (papers.estimate, papers.n) == (1.0, 1)
    assert isinstance(sources.read(parse_path("db:runs.completed_rate"), None), Missing)
    store.set_run_status(run.id, RunStatus.COMPLETED)
    runs = _read(sources, "db:runs.completed_rate")
    assert (runs.estimate, runs.n) == (1.0, 1)
    unknown = sources.read(parse_path("db:nonsense"), None)
    assert isinstance(unknown, Missing) and "known: review.error_rate" in unknown.reason
    wrong = sources.read(parse_path("db:runs.completed_rate"), "bootstrap-percentile")
    assert isinstance(wrong, Missing)


def test_worse_updates_count_applied_recalibrations_worse_on_later_labels(store: Store) -> None:
    from datetime import timedelta

    from autoalign.store import NewLabel
    from autoalign.vocabulary import LabelKind, LabelSource, UpdateKind

    sources = Sources(store=store)
    none_yet = sources.read(parse_path("db:updates.worse_rate"), None)
    assert isinstance(none_yet, Missing) and "applied recalibration" in none_yet.reason
    # A map that says 0.9 whatever the critic stated (isotonic with one level), applied...
    flat = {"method": "isotonic", "x": [0.0, 1.0], "y": [0.9, 0.9]}
    bad = store.add_critic_version(critic="c2.investigate", base_version="1",
                                   update=UpdateKind.RECALIBRATION, params=flat, evidence={},
                                   applied=True, reason="test")
    # ... and a rejected one, which is never judged.
    store.add_critic_version(critic="c2.investigate", base_version="1",
                             update=UpdateKind.RECALIBRATION, params=flat, evidence={},
                             applied=False, reason="test")

    def labels(start: int, count: int, known: object) -> list[NewLabel]:
        # The critic states 0.1 on clean papers and 0.9 on severely flawed ones: calibrated.
        return [NewLabel(kind=LabelKind.ARTIFICIAL, source=LabelSource.REDTEAM_TRIAL,
                         source_ref=f"t{i}", subject=f"s{i}", present=i % 2 == 0,
                         severe=i % 2 == 0, known_at=known, critic="c2.investigate@1",
                         detected=i % 2 == 0, probability=0.9 if i % 2 == 0 else 0.1)
                for i in range(start, start + count)]

    store.add_labels(labels(0, 20, bad.created_at - timedelta(days=1)))  # known before: not used
    few = labels(100, 9, bad.created_at + timedelta(days=1))
    store.add_labels(few)
    assert isinstance(sources.read(parse_path("db:updates.worse_rate"), None), Missing)
    store.add_labels(labels(200, 1, bad.created_at + timedelta(days=2)))  # the 10th later label
    got = _read(sources, "db:updates.worse_rate{critic=c2.investigate}")
    # Through the map every clean paper gets 0.9: worse than the raw, calibrated probability.
    assert (got.estimate, got.n) == (1.0, 1)
    assert got.low is not None and got.high == 1.0
