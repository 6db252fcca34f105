"""The flaw library: what goes in (confirmed flaws, present labels), similarity retrieval with
deterministic ties, and the critic versions a changed library makes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from autoalign.critics import FlawInvestigator, FlawLibrary, LibraryEntry, library_version
from autoalign.errors import DataError
from autoalign.store import NewLabel, Store
from autoalign.vocabulary import Kind, LabelKind, LabelSource, Stage, UpdateKind

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def _artifact(store: Store, run_id: int | None = None) -> tuple[int, int]:
    """A new artifact (in a new run unless `run_id`); returns (run id, artifact id)."""
    if run_id is None:
        run_id = store.create_run(name="r", agenda_digest="d" * 64, config={}).id
    art = store.add_artifact(run_id=run_id, kind=Kind.MAIN_TEXT, stage=Stage.WRITEUP,
                             content_text="text")
    return run_id, art.id


def _confirmed(store: Store, artifact_id: int, category: str, description: str) -> int:
    """A flaw critic #2's investigator confirmed on `artifact_id`; returns its id."""
    report = store.add_artifact(run_id=store.artifact(artifact_id).run_id,
                                kind=Kind.FLAW_INVESTIGATION, stage=Stage.WRITEUP)
    (flaw,) = store.add_flaws(
        artifact_id=artifact_id, found_by_id=report.id, critic=FlawInvestigator.id,
        critic_version=FlawInvestigator.version,
        items=[{"category": category, "severity": "major", "description": description}])
    return flaw.id


def _injection(store: Store, ref: str, description: str, *, critic: str = "c2.babble@1") -> int:
    (label,) = store.add_labels([NewLabel(
        kind=LabelKind.ARTIFICIAL, source=LabelSource.REDTEAM_TRIAL, source_ref=ref,
        subject=ref, present=True, severe=True, known_at=WHEN, flaw_type="overclaiming",
        critic=critic, detected=False, detail=description)])
    return label


def test_retrieval_ranks_the_similar_past_flaw_first(store: Store) -> None:
    run, art = _artifact(store)
    _confirmed(store, art, "number_mismatch", "The abstract reports 0.4 but the log says 0.2.")
    similar = _confirmed(store, art, "overclaiming",
                         "Generalises a toy reward hacking result to every deployed model.")
    label = _injection(store, "e:1", "Cites a reference that does not exist.")
    library = FlawLibrary.from_store(store)
    assert [e.id for e in library.entries] == [f"flaw:{similar - 1}", f"flaw:{similar}",
                                                 f"label:{label}"]
    hits = library.retrieve("The paper generalises its toy reward hacking result", 2)
    assert hits[0].entry.id == f"flaw:{similar}"
    assert hits[0].entry.run_id == run and hits[0].entry.source == "investigation"
    assert hits[0].entry.text.startswith("overclaiming (major): Generalises a toy")
    assert all(h.score > 0 for h in hits) and hits == sorted(hits, key=lambda h: -h.score)
    # Filters: by type, leaving out the subject's own artifacts or the current run.
    assert library.retrieve("reward hacking", 3, categories={"number_mismatch"}) == []
    assert library.retrieve("toy reward hacking", 3, exclude_artifacts={art}) == []
    assert library.retrieve("toy reward hacking", 3, exclude_runs={run}) == []
    with pytest.raises(DataError, match="k must be at least 1"):
        library.retrieve("x", 0)


def test_equal_scores_are_ordered_by_entry_id_and_repeated_texts_kept_once() -> None:
    entries = [
        LibraryEntry(id=f"label:{i}", source="redteam_trial", flaw_type="overclaiming",
                     severity="severe", description=f"Overclaims the result, case {c}",
                     origin=f"redteam_trial e:{i}")
        for i, c in ((9, "a"), (3, "b"), (5, "c"))
    ]
    library = FlawLibrary(entries)
    hits = library.retrieve("overclaims the result", 3)
    assert len({h.score for h in hits}) == 1
    assert [h.entry.id for h in hits] == ["label:3", "label:5", "label:9"]
    assert library.retrieve("overclaims the result", 3) == hits  # a function of its inputs


def test_a_label_judged_by_several_critics_is_one_entry_and_a_dismissal_removes_a_flaw(
    store: Store,
) -> None:
    first = _injection(store, "e:1", "An overclaim appended to the text.", critic="a@1")
    _injection(store, "e:1", "An overclaim appended to the text.", critic="b@1")
    _injection(store, "e:2", "An overclaim appended to the text.", critic="a@1")  # same text
    _, art = _artifact(store)
    flaw = _confirmed(store, art, "method_flaw", "No control arm.")
    assert [e.id for e in FlawLibrary.from_store(store).entries] == [f"flaw:{flaw}",
                                                                    f"label:{first}"]
    store.add_labels([NewLabel(
        kind=LabelKind.ORGANIC, source=LabelSource.REVIEW, source_ref="review_label:1",
        subject=f"artifact:{art}", artifact_id=art, flaw_id=flaw, flaw_type="method_flaw",
        present=False, severe=False, known_at=WHEN, critic="c2.investigate@1", detected=True,
        detail="dismiss by ann")])
    library = FlawLibrary.from_store(store)
    assert [e.id for e in library.entries] == [f"label:{first}"]
    assert library.by_source() == {"redteam_trial": 1}
    assert library.by_type() == {"overclaiming": 1}


def test_a_review_confirmed_flaw_of_any_critic_is_an_entry_with_the_reviews_source(
    store: Store,
) -> None:
    _, art = _artifact(store)
    (flaw,) = store.add_flaws(artifact_id=art, found_by_id=None, critic="c2.numbers-match",
                              critic_version="1", items=[{
                                  "category": "number_mismatch", "severity": "critical",
                                  "description": "0.4 in the text, 0.2 in the log\nAt: ..."}])
    assert len(FlawLibrary.from_store(store)) == 0  # not confirmed by anyone yet
    (label,) = store.add_labels([NewLabel(
        kind=LabelKind.ORGANIC, source=LabelSource.REVIEW, source_ref="review_label:7",
        subject=f"artifact:{art}", artifact_id=art, flaw_id=flaw.id,
        flaw_type="number_mismatch", present=True, severe=True, known_at=WHEN,
        critic="c2.numbers-match@1", detected=True, detail="confirm by ann")])
    library = FlawLibrary.from_store(store)
    (entry,) = library.entries
    assert (entry.id, entry.source, entry.severity) == (f"flaw:{flaw.id}", "review", "critical")
    assert entry.description == "0.4 in the text, 0.2 in the log"
    assert (library.snapshot.last_flaw_id, library.snapshot.last_label_id) == (flaw.id, label)


def test_a_changed_library_is_a_new_critic_version_and_an_unchanged_one_is_not(
    store: Store,
) -> None:
    reader, base = FlawInvestigator.id, FlawInvestigator.version
    empty = FlawLibrary.from_store(store)
    assert library_version(store, empty, reader=reader, base_version=base) == f"{reader}@{base}"
    assert store.critic_versions(critic=reader) == []
    first = _injection(store, "e:1", "An overclaim appended to the text.")
    one = FlawLibrary.from_store(store)
    label = library_version(store, one, reader=reader, base_version=base)
    assert label == f"{reader}@{base}+flaw_library.1"
    again = library_version(store, FlawLibrary.from_store(store), reader=reader,
                            base_version=base)
    assert again == label
    (version,) = store.critic_versions(critic=reader)
    assert version.update == UpdateKind.FLAW_LIBRARY and version.applied
    assert version.params == {"entries": 1, "last_label_id": first, "last_flaw_id": 0,
                              "digest": one.snapshot.digest, "embedder": "tfidf"}
    second = _injection(store, "e:2", "A hallucinated citation to a paper that does not exist.")
    two = FlawLibrary.from_store(store)
    assert library_version(store, two, reader=reader, base_version=base) == (
        f"{reader}@{base}+flaw_library.2")
    newest = store.active_update(reader, UpdateKind.FLAW_LIBRARY)
    assert newest is not None and newest.params["last_label_id"] == second
    assert newest.params["entries"] == 2 and newest.evidence["entries_before"] == 1
    # Each reader keeps its own versions.
    assert library_version(store, two, reader="judge.idea-screen", base_version="1") == (
        "judge.idea-screen@1+flaw_library.1")


def test_a_semi_organic_label_is_of_its_artifacts_run(store: Store) -> None:
    run, art = _artifact(store)
    (label,) = store.add_labels([NewLabel(
        kind=LabelKind.SEMI_ORGANIC, source=LabelSource.REDTEAM_TRIAL, source_ref="e:db",
        subject="db:paper", artifact_id=art, present=True, severe=True, known_at=WHEN,
        flaw_type="number-differs-from-log", critic="c2.numbers-match@1", detected=True,
        detail="A logged number was changed in the abstract.")])
    library = FlawLibrary.from_store(store)
    (entry,) = library.entries
    assert (entry.id, entry.run_id, entry.artifact_id) == (f"label:{label}", run, art)
    assert [h.entry.id for h in library.retrieve("changed number", 3)] == [f"label:{label}"]
    assert library.retrieve("changed number", 3, exclude_runs={run}) == []
