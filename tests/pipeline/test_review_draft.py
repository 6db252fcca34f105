"""Critic #2's review of a plain draft outside any run (`review_draft`): the same checks,
babble, merge, investigation and report as `review_once`, asked through a model client, with
nothing written but the model layer's ledger and cache."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from autoalign.agenda import Critic2Section
from autoalign.critics.known_answers import clean_paper
from autoalign.models import ModelClient, ModelsConfig, register_script
from autoalign.pipeline import Critic2Report, review_draft
from autoalign.store import Store
from autoalign.store._schema import Artifact, Flaw, Judgment, LLMCall
from autoalign.vocabulary import PaperDecision
from tests.pipeline.conftest import Team


def _review(
    tmp_path: Path, team: Team, settings: Critic2Section, *, default: str = "scripted:rd",
    **kwargs: object,
) -> tuple[Critic2Report, Store]:
    register_script("rd", team)
    store = Store.open(f"sqlite:///{tmp_path}/db.sqlite")

    async def go() -> Critic2Report:
        async with ModelClient(config=ModelsConfig(default=default), ledger=store,
                               run_id=None) as client:
            return await review_draft(clean_paper(), models=client, settings=settings,
                                      **kwargs)  # type: ignore[arg-type]

    return asyncio.run(go()), store


def _rows(store: Store, table: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_review_draft_reports_and_decides_without_writing(tmp_path: Path) -> None:
    team = Team()
    report, store = _review(tmp_path, team, Critic2Section())
    draft = clean_paper()
    assert report.paper_id == draft.paper_id and report.round == 0
    assert [i.instance for i in report.instances] == [0, 1, 2]
    assert {i.model for i in report.instances} == {"scripted:rd"}
    assert all(i.severe_flaw == 0.10 for i in report.instances)
    # every instance babbles the same candidate: merged into one, confirmed by the investigator
    counted = [f for f in report.flaws if f.counts]
    assert [(f.category, f.status, f.raised_by) for f in counted] == [
        ("overclaiming", "confirmed", 3)]
    assert team.count("FlawCheck") == 1
    assert report.decision == PaperDecision.ACCEPT  # a minor flaw, no revision round left
    assert 0.0 <= report.severe_flaw_probability <= 1.0
    for table in (Artifact.__table__, Flaw.__table__, Judgment.__table__):
        assert _rows(store, table) == 0
    assert _rows(store, LLMCall.__table__) == 4  # three babbles and one investigation


def test_review_draft_uses_the_settings_models_and_shows_past_flaws(tmp_path: Path) -> None:
    team = Team()
    register_script("rd2", team)
    settings = Critic2Section(instances=2, investigate=1, models=["scripted:rd", "scripted:rd2"])
    report, _ = _review(tmp_path, team, settings,
                        past_flaws={"overclaiming": ["An earlier paper generalised too far."]})
    assert [i.model for i in report.instances] == ["scripted:rd", "scripted:rd2"]
    shown = [p for n, p in team.calls if n == "FlawCheck"]
    assert len(shown) == 1 and "An earlier paper generalised too far." in shown[0]


def test_an_invalid_babble_reply_is_an_instance_without_an_estimate(tmp_path: Path) -> None:
    team = Team(overrides={"FlawCandidates": lambda _p: "not json"})
    report, _ = _review(tmp_path, team, Critic2Section())
    assert all(i.severe_flaw is None for i in report.instances)
    assert not [f for f in report.flaws if f.status != "programmatic"]
    assert team.count("FlawCheck") == 0
