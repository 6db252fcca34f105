"""`on_failure = "continue"`: a failed step skips what needs it; the rest of the run goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoalign.pipeline import read_paper, run_agenda
from autoalign.store import Store

from .conftest import Team
from .test_run import agenda


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


def kinds(store: Store, run_id: int) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for a in store.artifacts(run_id=run_id):
        found.setdefault(a.kind, []).append(a.status)
    return found


async def test_a_failed_interpretation_only_drops_it_from_the_paper(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["RoundInterpretation"] = lambda _p: "no"
    summary = await run_agenda(agenda(model), store=store)
    assert summary.run.status == "completed"
    assert kinds(store, summary.run.id)["interpretation"] == ["failed"]
    (decision,) = store.artifacts(run_id=summary.run.id, kind="decision")
    assert decision.content_json["taken"] == "stop"
    assert "the interpretation gave no valid output" in decision.content_json["reason"]
    assert summary.paper_id is not None and summary.paper_status == "accepted"
    view = read_paper(store, summary.paper_id)
    main = next(p for p in view.parts if p.name == "main_text")
    assert sorted((k.relation, k.artifact.kind) for k in main.links) == [
        ("summarises", "appendix")
    ]
    appendix = next(p for p in view.parts if p.name == "appendix")
    assert "interpretation" not in {k.artifact.kind for k in appendix.links}
    main_prompt = next(p for n, p in script.calls if n == "Section" and "main text" in p)
    assert "<interpretation>" not in main_prompt  # the raw failed reply is not material


async def test_a_failed_section_skips_the_layers_above_it_and_the_run_completes(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    # The main text and its re-ask (a validation-retry prompt) get an invalid answer.
    script.overrides["Section"] = lambda p: "no" if "main text" in p or "validation" in p else {
        "title": "A section", "paragraphs": [{"text": "Text."}]
    }
    summary = await run_agenda(agenda(model), store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    found = kinds(store, summary.run.id)
    assert found["appendix"] == ["ok"] and found["main_text"] == ["failed"]
    for skipped in ("introduction", "abstract", "paper", "paper_critique"):
        assert skipped not in found
    assert script.count("Abstract") == 0 and script.count("PaperCritique") == 0
    assert summary.paper_id is None


async def test_a_failed_plan_fails_its_step_and_the_run_stops_at_write_up(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["ExperimentPlan"] = lambda _p: "no"
    summary = await run_agenda(agenda(model), store=store)
    found = kinds(store, summary.run.id)
    assert found["experiment_plan"] == ["failed"] and "sandbox_run" not in found
    assert found["step_log"] == ["failed"]
    # Nothing to report or check; the round is still interpreted (it learnt the step failed).
    assert "step_report" not in found and "check_report" not in found
    assert script.count("StepReport") == 0 and script.count("SpiritVerdict") == 0
    assert found["interpretation"] == ["ok"]
    # Nothing usable is left to write up: the run stops with the reason, nothing asked of it.
    assert found["research_log"] == ["failed"]
    assert summary.run.status == "stopped"
    assert "no valid research log to write up" in (summary.run.stop_reason or "")
    assert script.count("Section") == 0


async def test_a_failed_scope_ends_the_loop(store: Store, team: tuple[Team, str]) -> None:
    script, model = team
    script.overrides["ScopePlan"] = lambda _p: "no"
    summary = await run_agenda(agenda(model), store=store)
    found = kinds(store, summary.run.id)
    assert found["scope_plan"] == ["failed"] and "task_spec" not in found
    assert script.count("ExperimentPlan") == 0
    (decision,) = store.artifacts(run_id=summary.run.id, kind="decision")
    assert decision.content_json["taken"] == "stop"
    assert decision.content_json["reason"] == "scoping gave no valid plan"
    assert summary.run.status == "stopped"
