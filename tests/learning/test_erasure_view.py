"""The "summary" view of red-team subjects keeps exactly what the erasure keeps: a step's records
stored, erased, and read back from their summaries give the view's pieces."""

from __future__ import annotations

from pathlib import Path

from autoalign.critics import ExecutedStep, WorkerCode
from autoalign.critics.known_answers import CLEAN_CODE, clean_paper
from autoalign.critics.known_answers import clean_step as known_clean_step
from autoalign.learning import (
    apply_erasure,
    code_from_summary,
    sandbox_from_summary,
    summarize,
    summary_view,
)
from autoalign.store import Store, erased_mark
from autoalign.vocabulary import Kind, RunStatus, Stage

from .erasure_world import policy


def clean_step() -> ExecutedStep:
    """The known-answer clean step, with (long) worker code that produced it."""
    return known_clean_step().model_copy(
        update={"code": WorkerCode(artifact_id=99, source=CLEAN_CODE + "# a note\n" * 300)})


def _store_step(store: Store) -> tuple[dict[int, int], int, int]:
    """`clean_step()`'s records in a completed run: {subject run id: stored id}, code, log."""
    step = clean_step()
    run = store.create_run(name="r", agenda_digest="e" * 64, config={}).id
    assert step.code is not None
    code = store.add_artifact(run_id=run, kind=Kind.WORKER_CODE, stage=Stage.EXECUTE,
                              content_text=step.code.source,
                              content_json={"source": step.code.source}).id
    runs = {r.artifact_id: store.add_artifact(
        run_id=run, kind=Kind.SANDBOX_RUN, stage=Stage.EXECUTE,
        content_text="x" * 2000, content_json=r.run.model_dump(mode="json")).id
        for r in step.runs}
    rows = [{"run": runs[step.runs[0].artifact_id], **row.model_dump(mode="json")}
            for row in step.log.rows]
    log = store.add_artifact(run_id=run, kind=Kind.STEP_LOG, stage=Stage.EXECUTE,
                             content_text="y" * 2000,
                             content_json={"task": 1, "runs": [], "rows": rows,
                                           "attempts": 1}).id
    store.set_run_status(run, RunStatus.COMPLETED)
    return runs, code, log


def _summary(store: Store, artifact_id: int) -> dict[str, object]:
    mark = erased_mark(store.artifact(artifact_id).content_json)
    assert mark is not None, f"artifact {artifact_id} was not erased"
    return mark.summary


def test_the_step_view_keeps_exactly_what_the_erasure_keeps(
    store: Store, tmp_path: Path
) -> None:
    step = clean_step()
    runs, code, log = _store_step(store)
    apply_erasure(store, policy())
    view = summary_view(step)
    for original, seen in zip(step.runs, view.runs, strict=True):
        kept = _summary(store, runs[original.artifact_id])
        assert seen.run == sandbox_from_summary(kept)
        assert seen.run.stdout == "" and seen.run.files == []
        assert seen.run.result is not None and "per_seed" not in seen.run.result
        assert seen.run.result["mean"] == (original.run.result or {})["mean"]
        assert seen.run != original.run
    assert view.code is not None
    assert view.code.source == code_from_summary(_summary(store, code))
    kept_rows = _summary(store, log)["rows"]
    assert isinstance(kept_rows, list)
    assert [(r.metric, r.arm, r.seed, r.value) for r in view.log.rows] == [
        (r["metric"], r["arm"], r["seed"], r["value"]) for r in kept_rows]
    assert all(r.seed is None for r in view.log.rows)
    assert len(view.log.rows) < len(step.log.rows)
    # what is not a detailed log stays
    assert (view.task, view.claims, view.interpretation) == (
        step.task, step.claims, step.interpretation)


def test_the_view_of_a_view_is_the_view() -> None:
    once = summary_view(clean_step())
    assert summary_view(once) == once
    paper = summary_view(clean_paper())
    assert summary_view(paper) == paper


def test_the_paper_view_keeps_the_means_a_step_log_summary_keeps() -> None:
    paper = clean_paper()
    view = summary_view(paper)
    from_logs = [n for n in paper.numbers if n.run is not None]
    assert from_logs and any(n.seed is not None for n in from_logs)
    kept = summarize(Kind.STEP_LOG, {"rows": [
        {"run": n.run, "arm": n.arm, "metric": n.metric, "seed": n.seed, "value": n.value}
        for n in from_logs]})["rows"]
    assert [(n.run, n.arm, n.metric, n.seed, n.value) for n in view.numbers] == [
        (r["run"], r["arm"], r["metric"], r["seed"], r["value"]) for r in kept]
    assert (view.sections, view.research_log, view.evidence, view.claims) == (
        paper.sections, paper.research_log, paper.evidence, paper.claims)


def test_other_subjects_are_unchanged() -> None:
    subject = {"not": "a step"}
    assert summary_view(subject) is subject
