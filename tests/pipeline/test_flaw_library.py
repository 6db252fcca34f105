"""The flaw library in prompts: critic #2's instances and investigator, and the idea-screen
judges, shown similar past flaws as data; each retrieval recorded with its library version."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoalign.agenda import Critic2Section
from autoalign.critics import FlawInvestigator, FlawLibrary, LibraryEntry, PaperBabble
from autoalign.critics.known_answers import clean_paper
from autoalign.models import ModelClient, ModelsConfig, delimit, register_script
from autoalign.pipeline import review_draft, run_agenda
from autoalign.pipeline._ideas import embedder_for
from autoalign.pipeline._library import IDEA_JUDGE, LibraryReader
from autoalign.runtime import NullProgress, StageContext
from autoalign.store import FlawRetrievalRecord, NewLabel, Store
from autoalign.vocabulary import Kind, LabelKind, LabelSource, Stage, UpdateKind

from .conftest import Team
from .test_run import agenda

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


def _past(store: Store) -> dict[str, int]:
    """An earlier project's two confirmed flaws and a red-team injection; their entry ids."""
    run = store.create_run(name="earlier", agenda_digest="e" * 64, config={})
    section = store.add_artifact(run_id=run.id, kind=Kind.MAIN_TEXT, stage=Stage.WRITEUP,
                                 content_text="An earlier paper.")
    ids = {}
    for name, category, text in (
        ("overclaim", "overclaiming", "Generalises a toy penalty result to every setting."),
        ("method", "method_flaw", "No control arm was run for the noise study."),
    ):
        report = store.add_artifact(run_id=run.id, kind=Kind.FLAW_INVESTIGATION,
                                    stage=Stage.WRITEUP)
        (flaw,) = store.add_flaws(
            artifact_id=section.id, found_by_id=report.id, critic=FlawInvestigator.id,
            critic_version=FlawInvestigator.version,
            items=[{"category": category, "severity": "major", "description": text}])
        ids[name] = flaw.id
    (label,) = store.add_labels([NewLabel(
        kind=LabelKind.ARTIFICIAL, source=LabelSource.REDTEAM_TRIAL, source_ref="e:1",
        subject="e:1", present=True, severe=True, known_at=WHEN, flaw_type="number_mismatch",
        critic="c2.numbers-match@1", detected=True,
        detail="A number in the abstract differs from the research log.")])
    ids["label"] = label
    return ids


def _block(row: FlawRetrievalRecord) -> str:
    """The delimited part of a prompt that shows exactly `row`'s hits."""
    return delimit("past_flaws", "\n".join(h.text for h in row.hits) or "none")


async def test_critic2_is_shown_similar_past_flaws_and_each_retrieval_is_recorded(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    past = _past(store)
    summary = await run_agenda(agenda(model, critic2={"past_flaws": "similar"}), store=store)
    run = summary.run.id
    rows = {r.step_key: r for r in store.flaw_retrievals(run_id=run)}
    assert set(rows) == {"writeup/critic-2/0/instance/0", "writeup/critic-2/0/instance/1",
                         "writeup/critic-2/0/investigate/0"}
    for key in rows:  # each row names a step of this run that was asked
        assert store.artifact_by_step(run, key) is not None
    check = rows["writeup/critic-2/0/investigate/0"]
    assert check.role == FlawInvestigator.id and check.embedder == "tfidf"
    assert check.library_version == f"{FlawInvestigator.id}@1+flaw_library.1"
    # The candidate ("Generalises.", overclaiming) resembles the earlier overclaim most.
    assert check.hits[0].entry == f"flaw:{past['overclaim']}"
    assert [h.score for h in check.hits] == sorted((h.score for h in check.hits), reverse=True)
    (prompt,) = [p for n, p in script.calls if n == "FlawCheck"]
    assert _block(check) in prompt and prompt.count("<past_flaws>") == 1
    babbles = [p for n, p in script.calls if n == "FlawCandidates"]
    assert len(babbles) == 2
    for i in (0, 1):
        row = rows[f"writeup/critic-2/0/instance/{i}"]
        assert row.role == PaperBabble.id
        assert row.library_version == f"{PaperBabble.id}@1+flaw_library.1"
        assert any(_block(row) in p for p in babbles)
    assert all(p.count("<past_flaws>") == 1 for p in babbles)
    version = store.active_update(FlawInvestigator.id, UpdateKind.FLAW_LIBRARY)
    assert version is not None and version.params["entries"] == 3
    assert version.params["last_flaw_id"] == past["method"]
    assert version.params["last_label_id"] == past["label"]


async def test_the_idea_screen_judges_see_past_flaws_of_earlier_projects(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    past = _past(store)
    summary = await run_agenda(agenda(model, pipeline={"past_flaws": "similar",
                                                       "past_flaws_k": 2}), store=store)
    rows = store.flaw_retrievals(run_id=summary.run.id, role=IDEA_JUDGE)
    judged = store.artifacts(run_id=summary.run.id, kind=Kind.IDEA_JUDGMENT)
    assert rows and {r.step_key for r in rows} == {j.step_key for j in judged}
    prompts = [p for n, p in script.calls if n == "RubricScore" and "<idea>" in p]
    assert len(prompts) == len(rows)
    for row in rows:
        assert row.library_version == f"{IDEA_JUDGE}@1+flaw_library.1"
        assert 1 <= len(row.hits) <= 2
        assert any(_block(row) in p for p in prompts)
    # "Penalise repeated reward" resembles the earlier toy penalty overclaim; "Add noise to the
    # reward model" the missing control of the noise study.
    firsts = {r.hits[0].entry for r in rows}
    assert firsts == {f"flaw:{past['overclaim']}", f"flaw:{past['method']}"}
    # Critic #2 kept its default: no retrieval of its own.
    assert store.flaw_retrievals(run_id=summary.run.id, role=FlawInvestigator.id) == []


@pytest.mark.parametrize("mode", ["recent", "none"])
async def test_recent_and_none_keep_the_old_prompts_and_record_nothing(
    store: Store, team: tuple[Team, str], mode: str
) -> None:
    script, model = team
    _past(store)
    summary = await run_agenda(agenda(model, critic2={"past_flaws": mode}), store=store)
    assert store.flaw_retrievals() == []
    assert store.critic_versions() == []
    (prompt,) = [p for n, p in script.calls if n == "FlawCheck"]
    # "recent": the latest confirmed flaws of the candidate's category (overclaiming) only.
    expected = "Generalises a toy penalty result to every setting." if mode == "recent" else "none"
    assert delimit("past_flaws", expected) in prompt
    assert not any("<past_flaws>" in p for n, p in script.calls if n == "FlawCandidates")
    assert summary.paper_id is not None


async def test_a_recorded_retrieval_is_reused_and_a_new_label_changes_the_next_one(
    store: Store,
) -> None:
    past = _past(store)
    plan = agenda("scripted:none")
    run = store.create_run(name="t", agenda_digest="0" * 64, config={})
    ctx = StageContext(store=store, client=ModelClient(config=plan.models, ledger=store,
                                                       run_id=run.id),
                       run=run, agenda=plan, progress=NullProgress())

    def reader() -> LibraryReader:
        return LibraryReader(ctx=ctx, reader=FlawInvestigator.id, base_version="1",
                             embedder=embedder_for(ctx))

    query = "overclaiming hallucinated citation reference"
    first = await reader().past_flaws(key="writeup/critic-2/0/investigate/0", query=query, k=2)
    assert first[0].startswith("overclaiming (major): Generalises")
    store.add_labels([NewLabel(
        kind=LabelKind.ARTIFICIAL, source=LabelSource.REDTEAM_TRIAL, source_ref="e:2",
        subject="e:2", present=True, severe=True, known_at=WHEN, flaw_type="overclaiming",
        critic="c2.review@1", detected=False,
        detail="A hallucinated citation reference props up an overclaiming conclusion.")])
    # The same step again (a resumed run) is shown what it was shown: the same prompt.
    assert await reader().past_flaws(key="writeup/critic-2/0/investigate/0", query=query,
                               k=2) == first
    later = await reader().past_flaws(key="writeup/critic-2/1/investigate/0", query=query, k=2)
    assert later[0].startswith("overclaiming (severe): A hallucinated citation")
    versions = [r.library_version for r in store.flaw_retrievals(run_id=run.id)]
    assert versions == [f"{FlawInvestigator.id}@1+flaw_library.1",
                        f"{FlawInvestigator.id}@1+flaw_library.2"]
    assert len(store.critic_versions(critic=FlawInvestigator.id)) == 2
    assert store.flaw_retrievals(run_id=run.id)[0].hits[0].entry == f"flaw:{past['overclaim']}"


def test_the_library_settings_at_their_defaults_leave_the_agenda_digest_as_it_was() -> None:
    plain = agenda("scripted:x")
    spelled = agenda("scripted:x", critic2={"past_flaws": "recent", "past_flaws_k": 3},
                     pipeline={"past_flaws": "none", "past_flaws_k": 3})
    assert spelled.digest() == plain.digest()
    assert agenda("scripted:x", critic2={"past_flaws": "similar"}).digest() != plain.digest()
    assert agenda("scripted:x", pipeline={"past_flaws_k": 2}).digest() != plain.digest()


async def test_review_draft_outside_a_run_reads_a_library_it_is_given(tmp_path: Path) -> None:
    team = Team()
    register_script("lib-rd", team)
    library = FlawLibrary([
        LibraryEntry(id="label:1", source="redteam_trial", flaw_type="overclaiming",
                     severity="severe", description="Generalises from one toy to all models.",
                     origin="redteam_trial e:1"),
        LibraryEntry(id="label:2", source="redteam_trial", flaw_type="number_mismatch",
                     severity="severe", description="A logged number was changed.",
                     origin="redteam_trial e:2"),
    ])
    store = Store.open(f"sqlite:///{tmp_path}/db.sqlite")

    async def review(mode: str) -> None:
        settings = Critic2Section.model_validate(
            {"instances": 2, "investigate": 1, "past_flaws": mode})
        async with ModelClient(config=ModelsConfig(default="scripted:lib-rd"), ledger=store,
                               run_id=None) as client:
            await review_draft(clean_paper(), models=client, settings=settings,
                               library=library, past_flaws={"overclaiming": ["Recent one."]})

    await review("similar")
    (check,) = [p for n, p in team.calls if n == "FlawCheck"]
    top = library.retrieve("overclaiming Generalises. weak evidence", 3)
    assert top[0].entry.id == "label:1"
    assert delimit("past_flaws", "\n".join(h.entry.text for h in top)) in check
    assert all("<past_flaws>" in p for n, p in team.calls if n == "FlawCandidates")
    team.calls.clear()
    await review("none")
    (check,) = [p for n, p in team.calls if n == "FlawCheck"]
    assert delimit("past_flaws", "none") in check
    assert not any("<past_flaws>" in p for n, p in team.calls if n == "FlawCandidates")
    assert store.flaw_retrievals() == []  # outside a run nothing is recorded


def test_recent_past_flaws_leave_out_the_papers_own_artifacts(store: Store) -> None:
    """A flaw the running review has just confirmed on one of the paper's sections is not a
    past flaw: a review resumed after a kill asks what its first attempt asked."""
    from autoalign.pipeline._critic2 import _past_flaws

    run = store.create_run(name="t", agenda_digest="0" * 64, config={})
    other, paper, section = (store.add_artifact(run_id=run.id, kind=kind, stage=Stage.WRITEUP)
                             for kind in (Kind.PAPER, Kind.PAPER, Kind.MAIN_TEXT))
    for artifact, text in ((other.id, "an older paper's overclaim"),
                           (section.id, "this paper's own overclaim")):
        store.add_flaw(artifact_id=artifact, category="overclaiming", severity="major",
                       description=text, critic=FlawInvestigator.id, critic_version="1")
    assert _past_flaws(store, "overclaiming", frozenset({paper.id, section.id})) == (
        "an older paper's overclaim",)
    assert _past_flaws(store, "method_flaw", frozenset({paper.id})) == ()
