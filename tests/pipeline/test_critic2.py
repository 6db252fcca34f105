"""Critic #2 in the write-up is the registered critic `c2.review`: what it stores, and where."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoalign.critics import PaperReview, get_critic
from autoalign.pipeline import read_paper, run_agenda
from autoalign.store import Store

from .conftest import Team
from .test_run import CALLS, agenda


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


async def test_critic2_flaws_carry_its_id_and_version(
    store: Store, team: tuple[Team, str]
) -> None:
    _script, model = team
    summary = await run_agenda(agenda(model), store=store)
    assert summary.paper_id is not None
    (critique,) = store.artifacts(run_id=summary.run.id, kind="paper_critique")
    assert critique.step_key == "writeup/critic-2/0"
    (flaw,) = store.flaws(found_by_id=critique.id)
    critic = get_critic("c2.review")
    assert (flaw.critic, flaw.critic_version) == ("c2.review", critic.version)
    assert (flaw.artifact_id, flaw.category, flaw.severity) == (
        summary.paper_id, "overclaiming", "major"
    )
    assert flaw.description.startswith("Generalises.")
    assert f"At: artifact {summary.paper_id}" in flaw.description
    assert store.flaws(critic="c2.review", critic_version=critic.version) == [flaw]


async def test_a_flaw_in_a_section_is_on_that_section_and_mapped_into_the_taxonomy(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    script.overrides["PaperCritique"] = lambda _p: {
        "flaws": [
            {"category": "summary_drift", "severity": "major", "description": "Drifts.",
             "section": "introduction"},
            {"category": "unsupported_conclusion", "severity": "minor",
             "description": "Does not follow."},
        ],
        "decision": "minor_revision",
        "summary": "Close.",
    }
    summary = await run_agenda(agenda(model), store=store)
    assert summary.paper_id is not None
    view = read_paper(store, summary.paper_id)
    intro = next(p.artifact for p in view.parts if p.name == "introduction")
    (drift,) = store.flaws(artifact_id=intro.id)
    assert (drift.category, drift.critic) == ("summary_drift", "c2.review")
    (on_paper,) = store.flaws(artifact_id=summary.paper_id)
    assert on_paper.category == "overclaiming"
    assert "reported as unsupported_conclusion" in on_paper.description
    assert sorted(f.category for f in view.flaws) == ["overclaiming", "summary_drift"]


async def test_resumed_critic2_step_writes_its_flaws_once_without_asking_again(
    store: Store, team: tuple[Team, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The critique is stored, then the process dies before critic #2's flaws: the resumed run
    derives them through the critic from the stored critique, with its id and version."""
    script, model = team
    real = store.add_flaws

    def crash_on_critic2(**kwargs: object) -> object:
        if kwargs.get("critic") == "c2.review":
            raise KeyboardInterrupt
        return real(**kwargs)  # type: ignore[arg-type]  # the same keywords, passed through

    with monkeypatch.context() as patch:
        patch.setattr(store, "add_flaws", crash_on_critic2)
        with pytest.raises(KeyboardInterrupt):
            await run_agenda(agenda(model), store=store)
    (run,) = store.list_runs()
    (critique,) = store.artifacts(run_id=run.id, kind="paper_critique")
    assert store.flaws(found_by_id=critique.id) == []
    done = await run_agenda(agenda(model), store=store)
    assert done.run.status == "completed" and len(script.calls) == CALLS
    assert script.count("PaperCritique") == 1
    assert [(f.critic, f.category) for f in store.flaws(found_by_id=critique.id)] == [
        ("c2.review", "overclaiming")
    ]
    assert isinstance(get_critic("c2.review"), PaperReview)
