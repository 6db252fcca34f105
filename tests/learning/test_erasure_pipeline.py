"""Erasing a real run's detailed logs (the scripted team's pipeline run): the stored step is no
clean red-team subject any more, a paper's numbers say they cannot be checked, and the summary
view of the step read before erasure is exactly what the erasure kept."""

from __future__ import annotations

import itertools

import pytest

from autoalign.errors import DataError
from autoalign.learning import apply_erasure, code_from_summary, sandbox_from_summary, summary_view
from autoalign.models import register_script
from autoalign.pipeline import run_agenda, stored_executed_step, stored_paper_draft
from autoalign.pipeline._hierarchy import log_sources
from autoalign.pipeline._schemas import ProjectLog
from autoalign.redteam._database import database_steps
from autoalign.store import Store, erased_mark
from autoalign.vocabulary import ErasureOutcome, Kind
from tests.pipeline.conftest import Team
from tests.pipeline.test_run import agenda

from .erasure_world import policy

_names = itertools.count()


@pytest.fixture
def team() -> tuple[Team, str]:
    """A fresh scripted team and its model id."""
    t = Team()
    name = f"erasure{next(_names)}"
    register_script(name, t)
    return t, f"scripted:{name}"


async def test_erasing_a_completed_runs_logs(store: Store, team: tuple[Team, str]) -> None:
    script, model = team
    script.overrides["SpiritVerdict"] = lambda _: {
        "preserves_spirit": True, "issues": [], "confidence_percent": 90}
    summary = await run_agenda(agenda(model), store=store)
    assert summary.run.status == "completed"
    (report,) = store.artifacts(run_id=summary.run.id, kind=Kind.STEP_REPORT)
    step = stored_executed_step(store, report.id)
    assert step is not None and step.runs
    assert [s.source_artifact for s in database_steps(store)] == [step.log.artifact_id]
    papers = store.artifacts(kind=Kind.PAPER)
    drafts = {p.id: stored_paper_draft(store, p.id) for p in papers}
    assert any(d is not None and d.numbers for d in drafts.values())
    project_logs = [ProjectLog.model_validate(a.content_json)
                    for a in store.artifacts(kind=Kind.RESEARCH_LOG)]
    sources = [log_sources(store, p) for p in project_logs]

    result = apply_erasure(store, policy())
    erased = {r.artifact_id for r in store.erasures(outcome=ErasureOutcome.ERASED)}
    assert {r.artifact_id for r in result.erased} == erased
    assert step.log.artifact_id in erased and {r.artifact_id for r in step.runs} <= erased

    # the step cannot be read back for the red team any more: it is no clean subject
    assert stored_executed_step(store, report.id) is None
    assert database_steps(store) == []
    # a paper whose step logs were erased cannot have its numbers checked again
    for paper_id, draft in drafts.items():
        if draft is not None and draft.numbers:
            with pytest.raises(DataError, match=r"was erased at .* cannot be checked"):
                stored_paper_draft(store, paper_id)

    # a write-up asked again (a rollback's `regenerate`) still cites the erased log's runs
    assert [log_sources(store, p) for p in project_logs] == sources
    assert any(s.label.startswith("sandbox run") for found in sources for s in found)

    # the summary view of the step, read before erasure, is what the erasure kept
    view = summary_view(step)
    for seen in view.runs:
        mark = erased_mark(store.artifact(seen.artifact_id).content_json)
        assert mark is not None and seen.run == sandbox_from_summary(mark.summary)
    log = erased_mark(store.artifact(step.log.artifact_id).content_json)
    assert log is not None
    assert [(r.metric, r.arm, r.seed, r.value) for r in view.log.rows] == [
        (r["metric"], r["arm"], r["seed"], r["value"]) for r in log.summary["rows"]]
    if step.code is not None and step.code.artifact_id in erased:
        code = erased_mark(store.artifact(step.code.artifact_id).content_json)
        assert code is not None and view.code is not None
        assert view.code.source == code_from_summary(code.summary)
    # the provenance of the report still reaches every erased record it rests on
    assert {step.log.artifact_id, *(r.artifact_id for r in step.runs)} <= set(
        store.ancestors(report.id))
