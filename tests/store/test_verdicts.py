"""A judge step's verdicts: written once per (artifact, judge), in one transaction."""

from __future__ import annotations

from autoalign.store import Store
from autoalign.vocabulary import Kind, Stage


def test_a_judges_verdicts_are_written_once_per_artifact(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    a, b = (store.add_artifact(run_id=run.id, kind=Kind.IDEA, stage=Stage.PROPOSE,
                               content_text=t).id for t in ("a", "b"))
    judge = store.add_artifact(run_id=run.id, kind=Kind.IDEA_JUDGMENT, stage=Stage.PROPOSE).id
    assert store.add_verdicts(judge_artifact_id=judge, artifact_ids=[a, b, a], role="judge",
                              score=7.0, rationale="r", model="m", other_artifact_id=b) == [a, b]
    # A resumed step writes its verdicts again: nothing new.
    assert store.add_verdicts(judge_artifact_id=judge, artifact_ids=[a, b], role="judge",
                              score=7.0) == []
    rows = store.judgments(judge_artifact_id=judge)
    assert sorted((r.artifact_id, r.score, r.model, r.source) for r in rows) == [
        (a, 7.0, "m", "model"), (b, 7.0, "m", "model")
    ]
    assert {r.other_artifact_id for r in rows} == {b}
    # Another judge of the same artifact is a verdict of its own.
    other = store.add_artifact(run_id=run.id, kind=Kind.IDEA_JUDGMENT, stage=Stage.PROPOSE).id
    assert store.add_verdicts(judge_artifact_id=other, artifact_ids=[a], role="judge") == [a]
    assert len(store.judgments(artifact_id=a)) == 2
