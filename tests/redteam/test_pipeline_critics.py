"""The multi-step critics in `autoalign redteam run`: critic #2 as the write-up runs it
(`c2.pipeline`) and critic #3's pair judge (`c3.pairs`), asked through a scripted model outside
any run. What the tests check is what the experiment decided: detected, flagged and the
probability on each stored trial, and that nothing is written to the research tables."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from autoalign.critics.known_answers import clean_paper
from autoalign.errors import ConfigError
from autoalign.redteam import (
    CORPUS_PAIRS,
    PAPER_PIPELINE,
    RedteamCritic,
    build_report,
    inject,
    model_roles,
    parse_config,
    redteam_critic,
    redteam_critic_ids,
    run_experiment,
    trials,
)
from autoalign.store import Store
from autoalign.store._schema import (
    Artifact,
    ArtifactEvent,
    Claim,
    Flaw,
    Judgment,
    LLMCall,
    ProvenanceEdge,
    ReviewRequest,
)
from tests.cli.helpers import invoke
from tests.pipeline.conftest import Team

# The built-in paper's `best-seed-as-typical` injection (seed 0, the only clean paper): the
# main text's mean 1.60 becomes the best seed's 1.50. No programmatic check reports it, so only
# babble and the investigator can.
TAMPERED = "rose from 1.20 to 1.50"


def _candidates(hit: str, *, category: str = "cherry_picking") -> Any:
    """Babble that suspects the span `hit` when its prompt shows it (90% severe), and nothing
    (5% severe) otherwise."""

    def answer(prompt: str) -> dict[str, Any]:
        seen = hit in prompt
        return {
            "flaws": [{
                "category": category, "severity": "major", "confidence_percent": 80,
                "section": "main_text", "quote": hit,
                "description": "The main text prints the best seed where the mean was.",
            }] if seen else [],
            "severe_flaw_percent": 90 if seen else 5,
            "recommendation": "revise" if seen else "accept",
            "summary": "Checked the numbers.",
        }

    return answer


def _check(verdict: str) -> Any:
    return lambda _prompt: {"verdict": verdict, "confidence_percent": 90, "severity": "major",
                            "evidence": "The log's mean is 1.60."}


def _research_rows(store: Store) -> tuple[int, ...]:
    with store.engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Artifact.__table__, ArtifactEvent.__table__, ProvenanceEdge.__table__,
                      Flaw.__table__, Judgment.__table__, Claim.__table__,
                      ReviewRequest.__table__)
        )


def _ledger(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(LLMCall.__table__)).scalar_one())


def _config(model: str, **extra: Any) -> Any:
    return parse_config({
        "name": "pipeline-critics", "critics": [PAPER_PIPELINE], "injections_per_type": 1,
        "controls": 1, "flaw_types": ["best-seed-as-typical"], "models": {"default": model},
        **extra,
    })


def test_the_multi_step_critics_are_offered_and_ask_their_roles() -> None:
    assert {PAPER_PIPELINE, CORPUS_PAIRS} <= set(redteam_critic_ids())
    c2 = redteam_critic(PAPER_PIPELINE)
    assert (c2.where, c2.kind, c2.role) == ("paper", "llm", "critic-2")
    assert c2.version == "b1.i1"  # from c2.babble@1 and c2.investigate@1
    c3 = redteam_critic(CORPUS_PAIRS)
    assert (c3.where, c3.kind, c3.role) == ("corpus", "llm", "judge")
    config = parse_config({"name": "x", "critics": [PAPER_PIPELINE, CORPUS_PAIRS]})
    assert model_roles(config) == ["critic-2", "judge"]


def test_a_confirmed_candidate_is_detected_with_the_reports_probability(
    store: Store, team: tuple[Team, str],
) -> None:
    scripted, model = team
    made = inject("best-seed-as-typical", clean_paper(), seed=0)
    assert made is not None and made.change.after == "1.50"
    scripted.overrides["FlawCandidates"] = _candidates(TAMPERED)
    scripted.overrides["FlawCheck"] = _check("confirmed")
    before = _research_rows(store)
    summary = asyncio.run(run_experiment(store, _config(model)))
    got = {t.subject: t for t in trials(store, summary.experiment_id)}
    injected = [t for t in got.values() if not t.control]
    controls = [t for t in got.values() if t.control]
    assert len(injected) == 1 and len(controls) == 1
    assert injected[0].critic == "c2.pipeline@b1.i1"
    assert injected[0].detected and injected[0].flagged
    assert not controls[0].flagged
    # the report's severe-flaw probability is stored on every trial: higher on the tampered paper
    assert injected[0].probability is not None and controls[0].probability is not None
    assert injected[0].probability > controls[0].probability
    # three instances a paper (an instance shown only unchanged sections is answered from the
    # cache); the investigator was asked about the one candidate; nothing entered the research
    # tables
    assert len({p for n, p in scripted.calls if n == "FlawCandidates"}) == 5
    assert scripted.count("FlawCheck") == 1
    assert _research_rows(store) == before
    # the finding is stored with its location in the main text
    row = next(r for r in store.redteam_trials(summary.experiment_id)
               if r.subject_key == injected[0].subject)
    assert [f["category"] for f in row.findings] == ["cherry_picking"]
    assert row.findings[0]["location"]["artifact_id"] == made.change.artifact_id


def test_a_refuted_candidate_is_not_a_finding(store: Store, team: tuple[Team, str]) -> None:
    scripted, model = team
    scripted.overrides["FlawCandidates"] = _candidates(TAMPERED)
    scripted.overrides["FlawCheck"] = _check("refuted")
    summary = asyncio.run(run_experiment(store, _config(model)))
    got = trials(store, summary.experiment_id)
    assert scripted.count("FlawCheck") == 1
    assert [t.detected for t in got if not t.control] == [False]
    assert not any(t.flagged for t in got)
    assert all(t.probability is not None for t in got)


def test_not_investigated_candidates_are_not_findings(
    store: Store, team: tuple[Team, str],
) -> None:
    scripted, model = team
    scripted.overrides["FlawCandidates"] = _candidates(TAMPERED)
    scripted.overrides["FlawCheck"] = lambda _p: "not a verdict"  # no valid investigation
    summary = asyncio.run(run_experiment(store, _config(model)))
    assert scripted.count("FlawCheck") >= 1
    assert not any(t.flagged for t in trials(store, summary.experiment_id))


def test_a_number_mismatch_is_detected(store: Store, team: tuple[Team, str]) -> None:
    scripted, model = team
    made = inject("number-differs-from-log", clean_paper(), seed=0)
    assert made is not None
    scripted.overrides["FlawCandidates"] = _candidates("without: 0.15", category="number_mismatch")
    scripted.overrides["FlawCheck"] = _check("confirmed")
    summary = asyncio.run(run_experiment(store, _config(
        model, flaw_types=["number-differs-from-log"])))
    got = trials(store, summary.experiment_id)
    assert [t.detected for t in got if not t.control] == [True]
    assert [t.flagged for t in got if t.control] == [False]


def test_injection_trials_give_calibration_and_a_rerun_asks_nothing(
    store: Store, team: tuple[Team, str],
) -> None:
    scripted, model = team
    scripted.overrides["FlawCandidates"] = _candidates(TAMPERED)
    config = _config(model, flaw_types=["best-seed-as-typical", "wrong-direction",
                                        "number-differs-from-log"], controls=1)
    before = _research_rows(store)
    first = asyncio.run(run_experiment(store, config))
    got = trials(store, first.experiment_id)
    label = redteam_critic(PAPER_PIPELINE).label
    assert len(got) == 4 and all(t.critic == label for t in got)
    analysis = build_report(got, n_boot=50)
    assert "calibration" not in analysis.report.empty
    assert len(analysis.calibration[label].predictions) == len(got)
    brier = analysis.report.select("brier", critic=label)
    assert brier and brier[0].n == len(got)
    # a re-run stores nothing, asks nothing, and the research tables stay untouched
    ledger, calls = _ledger(store), len(scripted.calls)
    second = asyncio.run(run_experiment(store, config))
    assert second.trials_written == 0
    assert _ledger(store) == ledger and len(scripted.calls) == calls
    assert _research_rows(store) == before


def _corpus_config(model: str, **extra: Any) -> Any:
    return parse_config({
        "name": "pairs", "critics": [CORPUS_PAIRS, "c3.evidence"], "injections_per_type": 2,
        "controls": 1, "flaw_types": ["contradiction"], "models": {"default": model}, **extra,
    })


def _judge(prompt: str) -> dict[str, Any]:
    """A contradiction when one claim denies the other (quotes it after "not"), else none."""
    denied = re.search(r"not '([^']+)'", prompt)
    against = denied is not None and prompt.count(denied.group(1)) >= 2
    return {"relation": "contradiction" if against else "unrelated",
            "rationale": "One claim denies the other." if against else "No conflict."}


def test_the_pair_judge_detects_an_injected_contradiction(
    store: Store, team: tuple[Team, str],
) -> None:
    scripted, model = team
    scripted.overrides["PairVerdict"] = _judge
    before = _research_rows(store)
    summary = asyncio.run(run_experiment(store, _corpus_config(model)))
    got = [t for t in trials(store, summary.experiment_id) if t.critic.startswith(CORPUS_PAIRS)]
    injected = [t for t in got if not t.control]
    assert len(injected) == 2 and all(t.detected for t in injected)
    assert [t.flagged for t in got if t.control] == [False]
    assert all(t.probability is None for t in got)
    assert scripted.count("PairVerdict") > 0
    assert _research_rows(store) == before
    # each contradiction is reported on both papers' claims
    for row in store.redteam_trials(summary.experiment_id):
        if row.critic.startswith(CORPUS_PAIRS) and row.flagged:
            assert {f["category"] for f in row.findings} == {"contradiction"}
            assert len({f["location"]["artifact_id"] for f in row.findings}) == 2


def test_a_clean_corpus_is_not_flagged_when_the_judge_sees_no_contradiction(
    store: Store, team: tuple[Team, str],
) -> None:
    scripted, model = team  # the default verdict: unrelated
    summary = asyncio.run(run_experiment(store, _corpus_config(model)))
    got = [t for t in trials(store, summary.experiment_id) if t.critic.startswith(CORPUS_PAIRS)]
    assert got and not any(t.flagged for t in got)
    assert scripted.count("PairVerdict") > 0


def test_the_multi_step_critics_need_their_subject(team: tuple[Team, str]) -> None:
    critic: RedteamCritic = redteam_critic(CORPUS_PAIRS)
    with pytest.raises(TypeError, match="checks a Corpus"):
        asyncio.run(critic.check(clean_paper(), models=None))


def test_a_config_without_critic2_keeps_its_digest() -> None:
    data = {"name": "old", "critics": ["c2.review", "c3.evidence"], "seed": 3}
    # the digest this config had before the `[critic2]` table existed
    old = "40cbca8965cb8d808c67f2147b744998bcc1b3db0062224eafa039d64ee8e489"
    assert parse_config(data).digest() == old
    assert parse_config({**data, "critic2": {"instances": 3}}).digest() == old  # the default
    assert parse_config({**data, "critic2": {"instances": 2}}).digest() != old
    with pytest.raises(ConfigError) as info:
        parse_config({**data, "critic2": {"instancez": 2}})
    assert info.value.field == "critic2.instancez"


def test_the_critic2_settings_reach_the_review(store: Store, team: tuple[Team, str]) -> None:
    scripted, model = team
    scripted.overrides["FlawCandidates"] = _candidates(TAMPERED)
    summary = asyncio.run(run_experiment(store, _config(
        model, critic2={"instances": 1, "investigate": 1})))
    # one instance (shown the main text) a paper: the tampered one and the control
    assert len({p for n, p in scripted.calls if n == "FlawCandidates"}) == 2
    got = trials(store, summary.experiment_id)
    assert [t.detected for t in got if not t.control] == [True]


def test_the_multi_step_critics_never_read_the_red_team_tables(
    store: Store, team: tuple[Team, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    scripted, model = team
    scripted.overrides["FlawCandidates"] = _candidates(TAMPERED)
    statements: list[str] = []
    checking = [False]

    @event.listens_for(store.engine, "before_cursor_execute")
    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if checking[0]:
            statements.append(statement)

    original = RedteamCritic.check

    async def watched(self: RedteamCritic, subject: Any, *, models: Any) -> Any:
        checking[0] = True
        try:
            return await original(self, subject, models=models)
        finally:
            checking[0] = False

    monkeypatch.setattr(RedteamCritic, "check", watched)
    summary = asyncio.run(run_experiment(store, _config(
        model, critics=[PAPER_PIPELINE, CORPUS_PAIRS],
        flaw_types=["best-seed-as-typical", "contradiction"])))
    assert any("llm_" in s for s in statements)  # their calls are ledgered
    assert not [s for s in statements if "redteam" in s.lower()]
    markers = {i.subject_key for i in store.redteam_injections(summary.experiment_id)}
    markers |= {"redteam", "red-team", "/programmatic/", "best-seed-as-typical"}
    for _, shown in scripted.calls:
        assert not [m for m in markers if m in shown.lower()], shown[:300]


CLI_CONFIG = '''
name = "cli-c2"
critics = ["c2.pipeline"]
flaw_types = ["best-seed-as-typical", "wrong-direction", "number-differs-from-log"]
injections_per_type = 1
controls = 1

[models]
default = "{model}"

[critic2]
instances = 2
investigate = 1
'''


def test_the_cli_report_gives_calibration_for_c2_pipeline(
    tmp_path: Path, team: tuple[Team, str],
) -> None:
    scripted, model = team
    scripted.overrides["FlawCandidates"] = _candidates(TAMPERED)
    (tmp_path / "rt.toml").write_text(CLI_CONFIG.format(model=model))
    db = f"sqlite:///{tmp_path / 'r.db'}"
    run = invoke("--db", db, "redteam", "run", "rt.toml", "--quiet", cwd=tmp_path)
    assert run.code == 0, run.err
    with Store.open(db) as store:
        rows = store.redteam_trials(store.redteam_experiment("cli-c2").id)
    assert len(rows) == 4 and all(r.probability is not None for r in rows)
    report = invoke("--db", db, "redteam", "report", "--experiment", "cli-c2", "--out", "rep",
                    "--no-figures", cwd=tmp_path)
    assert report.code == 0, report.err
    data = json.loads((tmp_path / "rep" / "redteam-report.json").read_text())
    assert "calibration" not in data["empty"]
    label = rows[0].critic
    for name in ("brier", "ece"):
        found = [m for m in data["metrics"] if m["name"] == name
                 and m["keys"] == {"critic": label}]
        assert [m["n"] for m in found] == [len(rows)]
