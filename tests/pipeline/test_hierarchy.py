"""The summary hierarchy: paragraph links, number tracing, the direct strategy, divergence."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from autoalign.pipeline import read_paper, run_agenda, scrutiny_for
from autoalign.pipeline._divergence import divergence
from autoalign.pipeline._schemas import StepLog
from autoalign.store import Store
from autoalign.vocabulary import Kind

from ..cli.helpers import invoke
from .conftest import SECTION, SECTION_TEXT, Team, first_source
from .test_run import CALLS, agenda

DIRECT = {"direct": True}


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/research.db"


@pytest.fixture
def store(db: str) -> Store:
    return Store.open(db)


def _by_key(store: Store, run_id: int) -> dict[str, Any]:
    return {a.step_key: a for a in store.artifacts(run_id=run_id)}


async def test_paragraph_links_are_stored_in_content_and_as_edges(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    summary = await run_agenda(agenda(model, writeup=DIRECT), store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    # The direct strategy adds the main text, introduction and abstract: 3 calls.
    assert len(script.calls) == CALLS + 3
    arts = _by_key(store, summary.run.id)
    (step_log,) = store.artifacts(run_id=summary.run.id, kind="step_log")
    appendix, main = arts["writeup/appendix"], arts["writeup/main_text"]
    # The appendix's paragraph cites the step log (the first source it was shown) ...
    assert appendix.content_json["trace"][0]["links"] == [
        {"artifact": step_log.id, "paragraph": None}
    ]
    assert ("cites", step_log.id) in {(e.relation, e.parent_id) for e in store.parents(appendix.id)}
    # ... and the main text's paragraph cites the appendix's first paragraph.
    assert main.content_json["trace"][0]["links"] == [{"artifact": appendix.id, "paragraph": 1}]
    assert appendix.id in {e.parent_id for e in store.parents(main.id)}
    view = read_paper(store, summary.paper_id or 0)
    part = next(p for p in view.parts if p.name == "main_text")
    assert [(k.artifact_id, k.kind, k.paragraph) for k in part.paragraphs[0].links] == [
        (appendix.id, "appendix", 1)
    ]
    # Both versions are stored under distinct keys; the paper is the step-by-step one.
    for layer in ("main_text", "introduction", "abstract"):
        assert arts[f"writeup/direct/{layer}"].status == "ok"
        assert arts[f"writeup/direct/{layer}"].id not in view.paper.content_json[
            "sections"].values()
    assert view.paper.content_json["sections"]["main_text"] == main.id
    # The direct sections are written after the step-by-step ones (which cite each other by
    # id, so nothing may be recorded between them), and follow the last of them.
    abstract = arts["writeup/abstract"]
    for layer in ("main_text", "introduction", "abstract"):
        direct = arts[f"writeup/direct/{layer}"]
        assert direct.id > abstract.id
        assert ("follows", abstract.id) in {(e.relation, e.parent_id)
                                            for e in store.parents(direct.id)}


async def test_an_id_the_writer_was_not_shown_is_dropped_and_flagged(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team

    def appendix(prompt: str) -> Any:
        if "detailed appendix" not in prompt:
            return SECTION(prompt)
        # The proposal exists but is not among the appendix's sources.
        proposal = re.search(r"Research log of proposal (\d+)", prompt)
        assert proposal is not None
        return {"title": "Appendix", "paragraphs": [
            {"text": SECTION_TEXT, "sources": [proposal.group(1), *first_source(prompt)]}
        ]}

    script.overrides["Section"] = appendix
    summary = await run_agenda(agenda(model), store=store)
    arts = _by_key(store, summary.run.id)
    section = arts["writeup/appendix"]
    proposal_id = int(section.content_json["paragraphs"][0]["sources"][0])
    (trace,) = section.content_json["trace"]
    assert trace["dropped"] == [str(proposal_id)]
    assert proposal_id not in {k["artifact"] for k in trace["links"]}
    assert proposal_id not in {e.parent_id for e in store.parents(section.id)}
    (flaw,) = store.flaws(artifact_id=section.id)
    assert flaw.category == "hallucinated_reference" and str(proposal_id) in flaw.description


def _first_row(store: Store, run_id: int) -> Any:
    (log,) = store.artifacts(run_id=run_id, kind="step_log")
    return StepLog.model_validate(log.content_json).rows[0]


async def test_numbers_are_traced_to_their_sandbox_run_or_marked_untraced(
    db: str, store: Store, team: tuple[Team, str], tmp_path: Path
) -> None:
    script, model = team
    shown: dict[str, Any] = {}

    def appendix(prompt: str) -> Any:
        if "detailed appendix" not in prompt:
            return SECTION(prompt)
        runs = store.artifacts(kind="step_log")
        row = StepLog.model_validate(runs[-1].content_json).rows[0]
        shown["row"] = row
        return {"title": "Appendix", "paragraphs": [{
            "text": f"The arm logged {row.value:.3f} on its metric, and 7.777 elsewhere.",
            "sources": first_source(prompt),
        }]}

    script.overrides["Section"] = appendix
    summary = await run_agenda(agenda(model), store=store)
    row = shown["row"]
    section = _by_key(store, summary.run.id)["writeup/appendix"]
    traced, made_up = section.content_json["trace"][0]["numbers"]
    assert (traced["run"], traced["metric"], traced["arm"], traced["seed"], traced["value"]) == (
        row.run, row.metric, row.arm, row.seed, row.value
    )
    assert store.artifact(traced["run"]).kind == Kind.SANDBOX_RUN
    text = section.content_json["paragraphs"][0]["text"]
    assert text[traced["start"]:traced["end"]] == f"{row.value:.3f}"
    assert made_up["text"] == "7.777" and made_up["run"] is None

    # `show paper` prints each paragraph's links and each number's source, or "untraced".
    shown_paper = invoke("show", "paper", str(summary.paper_id), "--db", db, cwd=tmp_path)
    assert shown_paper.code == 0, shown_paper.err
    out = shown_paper.out
    assert f"number {row.value:.3f}: sandbox_run {row.run} (arm {row.arm}, {row.metric}" in out
    assert "number 7.777: untraced" in out
    (step_log,) = store.artifacts(run_id=summary.run.id, kind="step_log")
    assert f"rests on: step_log {step_log.id}" in out


STEPWISE_MAIN = (
    "The repeat penalty reduces reward hacking in the toy testbed. The effect was 0.12 on "
    "average. We also tried reward noise in a small pilot."
)
DIRECT_MAIN = (
    "The repeat penalty increases reward hacking in the toy testbed. The effect was 0.30 on "
    "average."
)


def test_divergence_of_two_hand_written_versions_is_exact() -> None:
    d = divergence({"main_text": [STEPWISE_MAIN]}, {"main_text": [DIRECT_MAIN]}, threshold=0.3)
    # 5 claims, one (the pilot) in the step-by-step version only.
    assert (d.n_claims, d.n_matched) == (5, 2)
    assert d.only_stepwise == ["We also tried reward noise in a small pilot."]
    assert d.only_direct == []
    assert d.claims == pytest.approx(1 / 5)
    # The effect's number differs (0.12 vs 0.30) and the penalty's direction is flipped.
    assert [p.stepwise for p in d.differing_numbers] == ["The effect was 0.12 on average."]
    assert d.numbers == 1.0 and d.n_with_numbers == 1
    assert [p.direct for p in d.opposite_conclusions] == [
        "The repeat penalty increases reward hacking in the toy testbed."
    ]
    assert d.conclusions == 1.0 and d.n_with_direction == 1
    assert d.score == pytest.approx((1 / 5 + 1 + 1) / 3)
    same = divergence({"main_text": [STEPWISE_MAIN]}, {"main_text": [STEPWISE_MAIN]}, threshold=0.3)
    assert same.score == 0.0 and same.n_matched == 3


async def test_a_divergence_is_stored_and_above_the_threshold_raises_scrutiny(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team

    def section(prompt: str) -> Any:
        if "Write the main text" not in prompt:
            return SECTION(prompt)
        direct = "<research_log>" in prompt
        return {"title": "Main", "paragraphs": [
            {"text": DIRECT_MAIN if direct else STEPWISE_MAIN, "sources": first_source(prompt)}
        ]}

    script.overrides["Section"] = section
    ag = agenda(model, writeup=DIRECT)
    summary = await run_agenda(ag, store=store)
    arts = _by_key(store, summary.run.id)
    stored = arts["writeup/divergence"]
    assert stored.kind == Kind.DIVERGENCE
    # The introduction (1 sentence) and abstract (text and claim) are the same in both; the
    # main texts differ as in the hand-written test.
    c = stored.content_json
    assert c["n_claims"] == 5 + 2 + 4
    assert c["claims"] == pytest.approx(1 / 11)
    assert c["numbers"] == 1.0
    assert (c["conclusions"], c["n_with_direction"]) == (pytest.approx(1 / 3), 3)
    assert c["score"] == pytest.approx((1 / 11 + 1 + 1 / 3) / 3)
    compared = {e.parent_id for e in store.parents(stored.id) if e.relation == "compares"}
    assert compared == {arts[f"writeup/{k}"].id for k in (
        "main_text", "introduction", "abstract", "direct/main_text", "direct/introduction",
        "direct/abstract",
    )}
    view = read_paper(store, summary.paper_id or 0)
    assert view.divergence is not None and view.divergence_id == stored.id
    # The paper waits for its divergence (which sets critic #2's scrutiny), and says so.
    assert ("follows", stored.id) in {(e.relation, e.parent_id)
                                      for e in store.parents(view.paper.id)}
    raised = scrutiny_for(view.divergence.score, ag.writeup)
    assert (raised.extra_critics, raised.escalation_drop) == (2, 0.1)
    # Critic #2 reviewed the paper under that scrutiny: two more instances babbled, and its
    # report records the lowered escalation band.
    report = arts["writeup/critic-2/0"].content_json
    assert (report["extra_critics"], report["escalation_drop"]) == (2, 0.1)
    assert report["band"][0] == pytest.approx(ag.critic2.escalate_low - 0.1)
    assert script.count("FlawCandidates") == ag.critic2.instances + 2
    assert scrutiny_for(0.0, ag.writeup).extra_critics == 0
    lenient = agenda(model, writeup={"direct": True, "divergence_threshold": 0.9})
    assert scrutiny_for(view.divergence.score, lenient.writeup).extra_critics == 0


async def test_a_failed_direct_layer_is_recorded_and_skips_only_the_divergence(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["Section"] = lambda p: (
        "no" if ("Write the main text" in p and "<research_log>" in p) or "validation" in p
        else SECTION(p)
    )
    summary = await run_agenda(agenda(model, writeup=DIRECT), store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    arts = _by_key(store, summary.run.id)
    assert arts["writeup/direct/main_text"].status == "failed"
    assert arts["writeup/direct/introduction"].status == "ok"
    assert "writeup/divergence" not in arts
    assert summary.paper_status == "accepted"
    assert store.artifact(summary.paper_id or 0).content_json["divergence"] is None
