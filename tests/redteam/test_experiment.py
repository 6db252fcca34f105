"""A red-team experiment end to end on a real store: what it stores, that it resumes without
repeating anything, and that no critic can read what was injected."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import event, func, select

from autoalign.errors import ConfigError
from autoalign.redteam import (
    ADJUDICATION_PREFIX,
    FLAW_TYPES,
    RedteamCritic,
    builtin_subjects,
    parse_config,
    run_experiment,
    trials,
)
from autoalign.store import Store
from autoalign.store._schema import LLMCall, RedteamExperiment, RedteamInjection, RedteamTrial
from autoalign.vocabulary import Kind, Stage, Status
from tests.pipeline.conftest import Team

PROGRAMMATIC = ["c1.code-integrity", "c1.results-produced", "c2.numbers-match",
                "c2.abstract-scope", "c3.evidence"]


def _config(**extra: Any) -> dict[str, Any]:
    return {"name": "t", "critics": PROGRAMMATIC, "injections_per_type": 2, "controls": 1,
            **extra}


def _counts(store: Store) -> tuple[int, int, int, int]:
    with store.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (RedteamExperiment.__table__, RedteamInjection.__table__,
                      RedteamTrial.__table__, LLMCall.__table__)
        )


def test_experiment_stores_one_trial_per_subject_critic_and_matcher(store: Store) -> None:
    config = parse_config(_config())
    summary = asyncio.run(run_experiment(store, config))
    got = trials(store, summary.experiment_id)
    injections = store.redteam_injections(summary.experiment_id)
    assert injections and {i.method for i in injections} == {"programmatic"}
    keys = [(t.subject, t.critic, t.matcher) for t in got]
    assert len(keys) == len(set(keys)) == summary.trials_written
    by_subject = {i.subject_key: i for i in injections}
    for t in got:
        if t.control:
            assert t.subject.endswith("/control") and t.where is None and not t.severe
            assert t.detected == t.flagged
        else:
            inj = by_subject[t.subject]
            assert (t.flaw_type, t.where, t.method) == (inj.flaw_type, inj.where, inj.method)
    # every critic ran on every subject of its kind, and only those
    where_of = {c: ("execution" if c.startswith("c1") else "paper" if c.startswith("c2")
                    else "corpus") for c in PROGRAMMATIC}
    for t in got:
        kind = by_subject[t.subject].where if not t.control else next(
            c.where for c in builtin_subjects() if t.subject.startswith(c.key + "/"))
        assert where_of[t.critic.split("@")[0]] == kind
    caught = {(t.critic, t.flaw_type) for t in got if t.detected and not t.control}
    assert ("c1.code-integrity@1", "swallowed-error") in caught
    assert ("c3.evidence@1", "shared-ancestor-support") in caught
    assert store.redteam_experiment("t").status == "completed"
    assert {t.flaw_type for t in got if not t.control} <= {f.id for f in FLAW_TYPES}


def test_rerunning_the_same_config_repeats_nothing(store: Store, team: tuple[Team, str]) -> None:
    scripted, model = team
    config = parse_config(_config(critics=[*PROGRAMMATIC, "c2.review"], injector="both",
                                  llm_matcher=True, models={"default": model}))
    first = asyncio.run(run_experiment(store, config))
    assert first.trials_written > 0
    assert scripted.count("FlawEdit") > 0 and scripted.count("PaperCritique") > 0
    assert scripted.count("MatchVerdict") > 0
    rows, calls = _counts(store), len(scripted.calls)
    second = asyncio.run(run_experiment(store, config))
    assert second.trials_written == 0
    assert _counts(store) == rows
    assert len(scripted.calls) == calls
    assert second.tallies == first.tallies


def test_llm_injections_and_matcher_are_recorded(store: Store, team: tuple[Team, str]) -> None:
    _, model = team
    config = parse_config(_config(critics=["c2.review"], injector="llm", llm_matcher=True,
                                  flaw_types=["overbroad-claim"], models={"default": model}))
    summary = asyncio.run(run_experiment(store, config))
    injections = store.redteam_injections(summary.experiment_id)
    assert [i.method for i in injections] == ["llm", "llm"]
    assert all(i.after == " This settles the question for every setting." for i in injections)
    got = trials(store, summary.experiment_id)
    assert {t.matcher for t in got} == {"strict", "llm"}
    # the scripted critic reports overclaiming on the paper (so strict matches), and the
    # scripted matcher always says it matches: they agree on every injected subject
    assert summary.agreement == (2, 2)
    assert all(t.detected for t in got if not t.control)


def test_a_changed_config_under_the_same_name_is_refused(store: Store) -> None:
    asyncio.run(run_experiment(store, parse_config(_config())))
    with pytest.raises(ConfigError, match="exists with another config"):
        asyncio.run(run_experiment(store, parse_config(_config(seed=1))))


def test_no_critic_reads_the_red_team_tables(
    store: Store, team: tuple[Team, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    scripted, model = team
    statements: list[str] = []
    checking = [False]

    @event.listens_for(store.engine, "before_cursor_execute")
    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if checking[0]:
            statements.append(statement)

    original = RedteamCritic.check
    seen: list[str] = []

    async def watched(self: RedteamCritic, subject: Any, *, models: Any) -> Any:
        seen.append(subject.model_dump_json())
        checking[0] = True
        try:
            return await original(self, subject, models=models)
        finally:
            checking[0] = False

    monkeypatch.setattr(RedteamCritic, "check", watched)
    config = parse_config(_config(critics=[*PROGRAMMATIC, "c2.review"],
                                  models={"default": model}))
    summary = asyncio.run(run_experiment(store, config))
    assert seen and any("llm_" in s for s in statements)  # the LLM critic's calls are ledgered
    assert not [s for s in statements if "redteam" in s.lower()]
    # nothing critics are shown names the injection: no subject key, no flaw type id
    markers = {i.subject_key for i in store.redteam_injections(summary.experiment_id)}
    markers |= {"redteam", "red-team", "/programmatic/", "injected"}
    markers |= {f.id for f in FLAW_TYPES if f.id not in ("contradiction",)}
    prompts = [p for _, p in scripted.calls]
    for shown in [*seen, *prompts]:
        assert not [m for m in markers if m in shown.lower()], shown[:300]


def test_bad_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_config(critics=["c1.nope"]))
    assert info.value.field == "critics" and "unknown critic 'c1.nope'" in info.value.reason
    with pytest.raises(ConfigError) as info:
        parse_config(_config(flaw_types=["typo"]))
    assert info.value.field == "flaw_types" and "unknown flaw type 'typo'" in info.value.reason
    with pytest.raises(ConfigError) as info:
        parse_config(_config(injections_per_type=0))
    assert info.value.field == "injections_per_type"
    with pytest.raises(ConfigError) as info:
        parse_config(_config(extra_key=1))
    assert info.value.field == "extra_key" and info.value.reason == "unknown key"
    with pytest.raises(ConfigError) as info:
        parse_config(_config(critics=["c2.babble"]))
    assert "multi-step review" in info.value.reason


def test_trials_of_a_stored_experiment_read_back_the_findings(store: Store) -> None:
    summary = asyncio.run(run_experiment(store, parse_config(_config(
        flaw_types=["swallowed-error"], critics=["c1.code-integrity"]))))
    rows = store.redteam_trials(summary.experiment_id)
    flagged = [r for r in rows if r.flagged]
    assert flagged and all(r.findings and "category" in r.findings[0] for r in flagged)
    assert json.dumps(rows[0].findings)  # stored as JSON


def _stored_paper(store: Store, *, status: Status) -> int:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    log = store.add_artifact(run_id=run.id, kind=Kind.RESEARCH_LOG, stage=Stage.EXECUTE,
                             content_text="Ran both arms.", content_json={
                                 "proposal": 1, "steps": [], "interpretations": [],
                                 "decisions": []})
    texts = {Kind.ABSTRACT: "Penalties\n\nThe hacking rate fell from 0.32 to 0.12.",
             Kind.INTRODUCTION: "Intro", Kind.MAIN_TEXT: "The hacking rate fell to 0.12.",
             Kind.APPENDIX: "Appendix"}
    sections = {
        str(kind): store.add_artifact(run_id=run.id, kind=kind, stage=Stage.WRITEUP,
                                      content_text=text, content_json={"claims": []}).id
        for kind, text in texts.items()
    }
    paper = store.add_artifact(run_id=run.id, kind=Kind.PAPER, stage=Stage.WRITEUP,
                               content_json={"title": "Penalties", "sections": sections,
                                             "research_log": log.id, "proposal": log.id})
    store.set_status(paper.id, status)
    return paper.id


def test_database_source_samples_accepted_unflawed_papers(store: Store) -> None:
    accepted = _stored_paper(store, status=Status.ACCEPTED)
    rejected = _stored_paper(store, status=Status.REJECTED)
    flawed = _stored_paper(store, status=Status.ACCEPTED)
    store.add_flaw(artifact_id=flawed, category="overclaiming", severity="major",
                   description="d")
    config = parse_config(_config(sources=["database"], critics=["c2.numbers-match"],
                                  flaw_types=["wrong-direction"], injections_per_type=1))
    summary = asyncio.run(run_experiment(store, config))
    injections = store.redteam_injections(summary.experiment_id)
    assert [(i.clean_key, i.source_artifact_id) for i in injections] == [
        (f"db:paper-{accepted}", accepted)]
    assert rejected not in {i.source_artifact_id for i in injections}
    controls = [t.subject for t in trials(store, summary.experiment_id) if t.control]
    assert controls == [f"db:paper-{accepted}/control"]


def test_an_experiment_that_breaks_is_marked_failed(
    store: Store, monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(self: RedteamCritic, subject: Any, *, models: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(RedteamCritic, "check", broken)
    with pytest.raises(RuntimeError):
        asyncio.run(run_experiment(store, parse_config(_config())))
    assert store.redteam_experiment("t").status == "failed"


def test_a_flagged_control_from_the_database_goes_to_a_human(store: Store) -> None:
    # The stored paper's abstract states 0.32, which its main text does not: c2.abstract-scope
    # flags the "clean" control, and a human is asked whether it really is clean.
    paper = _stored_paper(store, status=Status.ACCEPTED)
    config = parse_config(_config(sources=["database"], critics=["c2.abstract-scope"],
                                  flaw_types=["wrong-direction"], injections_per_type=1))
    summary = asyncio.run(run_experiment(store, config))
    control = [t for t in trials(store, summary.experiment_id) if t.control]
    assert [(t.subject, t.flagged) for t in control] == [(f"db:paper-{paper}/control", True)]
    (request,) = summary.adjudications
    assert store.review_request(request).artifact_id == paper
    assert store.review_request(request).reason.startswith(ADJUDICATION_PREFIX)
    again = asyncio.run(run_experiment(store, config))  # resumed: the same request
    assert again.adjudications == [request]
