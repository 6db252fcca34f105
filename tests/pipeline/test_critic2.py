"""Critic #2 in the write-up, babble and prune: instances with different contexts, merged
candidates, investigations that confirm or refute, and the flaws they store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autoalign.critics import FlawInvestigator, PaperBabble, get_critic
from autoalign.pipeline import read_paper, run_agenda
from autoalign.pipeline._critic2 import instance_count, merge_candidates
from autoalign.store import Store

from .conftest import ANSWERS, CANDIDATE, Team
from .test_run import CALLS, agenda


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


def _report(store: Store, run_id: int, round_: int = 0) -> dict[str, Any]:
    (critique,) = [
        a for a in store.artifacts(run_id=run_id, kind="paper_critique")
        if a.step_key == f"writeup/critic-2/{round_}"
    ]
    content = critique.content_json
    assert isinstance(content, dict)
    return content


async def test_a_confirmed_flaw_carries_the_investigators_id_version_and_quoted_span(
    store: Store, team: tuple[Team, str]
) -> None:
    _script, model = team
    summary = await run_agenda(agenda(model), store=store)
    assert summary.paper_id is not None
    (critique,) = store.artifacts(run_id=summary.run.id, kind="paper_critique")
    assert critique.step_key == "writeup/critic-2/0"
    (investigation,) = store.artifacts(run_id=summary.run.id, kind="flaw_investigation")
    (flaw,) = store.flaws(found_by_id=investigation.id)
    critic = get_critic("c2.investigate")
    assert (flaw.critic, flaw.critic_version) == ("c2.investigate", critic.version)
    main = next(p.artifact for p in read_paper(store, summary.paper_id).parts
                if p.name == "main_text")
    start = main.content_text.index("weak evidence")
    assert (flaw.artifact_id, flaw.category, flaw.severity) == (main.id, "overclaiming", "minor")
    assert flaw.description.startswith("Generalises.")
    assert f"At: artifact {main.id}, text [{start}:{start + len('weak evidence')}]" in (
        flaw.description
    )
    assert store.flaws(critic="c2.investigate", critic_version=critic.version) == [flaw]
    # The investigation derives from the paper and from both instances that raised the flaw.
    parents = {(e.parent_id, e.relation) for e in store.parents(investigation.id)}
    instances = store.artifacts(run_id=summary.run.id, kind="flaw_candidates")
    assert {(i.id, "derived_from") for i in instances} <= parents
    assert (summary.paper_id, "derived_from") in parents


async def test_instances_see_different_parts_and_foci(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    summary = await run_agenda(agenda(model, critic2={"instances": 3}), store=store)
    report = _report(store, summary.run.id)
    seen = [(i["focus"], i["sections"], i["with_log"]) for i in report["instances"]]
    assert seen == [
        ("numbers", ["main_text"], True),
        ("overclaiming", ["abstract", "appendix"], True),
        ("method", ["abstract", "introduction", "main_text"], False),
    ]
    prompts = [p for name, p in script.calls if name == "FlawCandidates"]
    assert len(prompts) == 3
    by_focus = {focus: log for focus, _sections, log in seen}
    for prompt in prompts:
        (focus,) = [f for f in by_focus if f"Focus: {_focus(f)}" in prompt]
        assert ("<research_log>" in prompt) == by_focus[focus]
    # Each instance's artifact links, as context, exactly the sections it was shown.
    for i, (_focus_name, sections, _log) in enumerate(seen):
        art = store.artifact_by_step(summary.run.id, f"writeup/critic-2/0/instance/{i}")
        assert art is not None and art.kind == "flaw_candidates"
        shown = sorted(
            store.artifact(e.parent_id).kind for e in store.parents(art.id)
            if e.relation == "context" and store.artifact(e.parent_id).kind != "research_log"
        )
        assert shown == sorted(sections)


def _focus(name: str) -> str:
    from autoalign.critics import FOCI

    return FOCI[name]


async def test_near_duplicate_candidates_are_merged_and_only_the_top_is_investigated(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    other = {
        "category": "method_flaw", "severity": "major", "confidence_percent": 20,
        "section": "appendix", "quote": "", "description": "No control for reward noise.",
    }
    near = {**CANDIDATE, "description": "Generalises too far."}
    script.overrides["FlawCandidates"] = lambda p: {
        **ANSWERS["FlawCandidates"],
        "flaws": [near if "Focus: " + _focus("numbers") in p else CANDIDATE, other],
    }
    summary = await run_agenda(agenda(model), store=store)
    report = _report(store, summary.run.id)
    merged = [(f["category"], f["raised_by"], f["status"]) for f in report["flaws"]
              if f["status"] != "programmatic"]
    # 4 candidates from 2 instances: the two overclaiming ones merge, the method flaws merge;
    # the strongest (minor at 60%: 0.6, against major at 20%: 0.4) is the one investigated.
    assert sorted(merged) == [
        ("method_flaw", 2, "not_investigated"), ("overclaiming", 2, "confirmed"),
    ]
    assert len(store.artifacts(run_id=summary.run.id, kind="flaw_investigation")) == 1
    assert script.count("FlawCheck") == 1


def test_merging_keeps_the_strongest_member_and_who_raised_it() -> None:
    from autoalign.critics import CandidateFlaw

    weak = CandidateFlaw.model_validate({**CANDIDATE, "confidence_percent": 20})
    strong = CandidateFlaw.model_validate({**CANDIDATE, "severity": "major"})
    apart = CandidateFlaw.model_validate({
        **CANDIDATE, "category": "number_mismatch", "section": "abstract",
        "description": "The abstract's 50% is not in the log.", "quote": "",
    })
    merged = merge_candidates([(1, weak), (2, strong), (2, apart)], threshold=0.6)
    assert [(c.severity, by) for c, by in merged] == [("major", [1, 2]), ("minor", [2])]


async def test_a_refuted_candidate_is_not_a_flaw_but_stays_in_the_report(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["FlawCheck"] = lambda _p: {
        "verdict": "refuted", "confidence_percent": 90, "severity": "minor",
        "evidence": "The main text keeps the log's hedge.",
    }
    summary = await run_agenda(agenda(model), store=store)
    assert store.flaws(critic="c2.investigate") == []
    (flaw,) = [f for f in _report(store, summary.run.id)["flaws"] if f["status"] != "programmatic"]
    assert (flaw["status"], flaw["evidence"]) == ("refuted", "The main text keeps the log's hedge.")
    assert flaw["critic"] == f"c2.investigate@{FlawInvestigator.version}"
    assert summary.paper_status == "accepted"
    assert [j.decision for j in store.judgments(artifact_id=summary.paper_id or 0)] == ["accept"]


async def test_instances_take_the_configured_critic2_models_in_turn(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    other = Team()
    from autoalign.models import register_script

    register_script("critic2other", other)
    summary = await run_agenda(
        agenda(model, critic2={"models": [model, "scripted:critic2other"]}), store=store
    )
    instances = [
        store.artifact_by_step(summary.run.id, f"writeup/critic-2/0/instance/{i}")
        for i in range(2)
    ]
    assert [a.model for a in instances if a is not None] == [model, "scripted:critic2other"]
    assert script.count("FlawCandidates") == 1 and other.count("FlawCandidates") == 1
    assert [i["model"] for i in _report(store, summary.run.id)["instances"]] == [
        model, "scripted:critic2other"
    ]


async def test_resumed_investigation_writes_its_flaws_once_without_asking_again(
    store: Store, team: tuple[Team, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The investigation is stored, then the process dies before its flaw: the resumed run
    derives it through the critic from the stored verdict, with its id and version."""
    script, model = team
    real = store.add_flaws

    def crash_on_critic2(**kwargs: object) -> object:
        if kwargs.get("critic") == "c2.investigate":
            raise KeyboardInterrupt
        return real(**kwargs)  # type: ignore[arg-type]  # the same keywords, passed through

    with monkeypatch.context() as patch:
        patch.setattr(store, "add_flaws", crash_on_critic2)
        with pytest.raises(KeyboardInterrupt):
            await run_agenda(agenda(model), store=store)
    (run,) = store.list_runs()
    (investigation,) = store.artifacts(run_id=run.id, kind="flaw_investigation")
    assert store.flaws(found_by_id=investigation.id) == []
    done = await run_agenda(agenda(model), store=store)
    assert done.run.status == "completed" and len(script.calls) == CALLS
    assert script.count("FlawCheck") == 1
    assert [(f.critic, f.category) for f in store.flaws(found_by_id=investigation.id)] == [
        ("c2.investigate", "overclaiming")
    ]
    assert isinstance(get_critic("c2.babble"), PaperBabble)


def test_scrutiny_adds_instances_up_to_the_cap() -> None:
    assert [instance_count(3, s) for s in (0, 1, 2, 9)] == [3, 4, 5, 8]


async def test_an_unknown_critic2_model_stops_the_run_before_anything_is_written(
    store: Store, team: tuple[Team, str]
) -> None:
    from autoalign.errors import AutoalignError

    _script, model = team
    with pytest.raises(AutoalignError, match="nosuchprovider"):
        await run_agenda(agenda(model, critic2={"models": ["nosuchprovider:x"]}), store=store)
    assert store.list_runs() == []
