"""Information screens in the store: which artifacts a screen keeps from a project, refusals
recorded once, lifting, and the question a cross-paper critic asks (on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from autoalign.errors import DataError
from autoalign.store import Store
from autoalign.vocabulary import Kind, Relation, Stage, Status


def _art(store: Store, run_id: int, kind: Kind, *parents: int | tuple[int, str]) -> int:
    return store.add_artifact(
        run_id=run_id, kind=kind, stage=Stage.PROPOSE, content_json={}, parents=parents
    ).id


def test_a_screen_keeps_each_project_from_the_others_artifacts_only(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    topic = _art(store, run.id, Kind.TOPIC)
    idea = _art(store, run.id, Kind.IDEA, topic)
    # Project B: a draft, its critique, the revision (the selected proposal), its execution.
    draft_b = _art(store, run.id, Kind.PROPOSAL, idea)
    critique_b = _art(store, run.id, Kind.PROPOSAL_CRITIQUE, draft_b)
    b = _art(store, run.id, Kind.PROPOSAL, critique_b, (draft_b, Relation.REVISES))
    a = _art(store, run.id, Kind.PROPOSAL, idea)
    selection = _art(store, run.id, Kind.SELECTION, a, b)
    # Both projects' first steps were shown the selection (context), which lists both.
    scope_a = _art(store, run.id, Kind.SCOPE_PLAN, a, (selection, Relation.CONTEXT))
    scope_b = _art(store, run.id, Kind.SCOPE_PLAN, b, (selection, Relation.CONTEXT))
    task_b = _art(store, run.id, Kind.TASK_SPEC, scope_b)
    run_b = _art(store, run.id, Kind.SANDBOX_RUN, task_b)
    spin_b = _art(store, run.id, Kind.PROPOSAL, run_b, b)
    record = _art(store, run.id, Kind.INFORMATION_SCREEN, selection)

    assert store.blocking_screen(reader=a, target=run_b) is None  # no screen yet
    screen = store.add_screen(run_id=run.id, artifact_id=record, project_a=a, project_b=b,
                              question="q", reason="independent angles")
    assert store.add_screen(run_id=run.id, artifact_id=record, project_a=a, project_b=b,
                            question="q", reason="again") == screen  # stored once

    for target in (b, draft_b, critique_b, scope_b, task_b, run_b, spin_b):
        assert store.blocking_screen(reader=a, target=target) == screen, target
    for target in (scope_a, a, topic, idea, selection):  # its own, and what both share
        assert store.blocking_screen(reader=a, target=target) is None, target
    assert store.blocking_screen(reader=b, target=scope_a) == screen
    # B's spin-off is project B still: the screen holds for it too.
    assert store.blocking_screen(reader=spin_b, target=scope_a) == screen
    assert store.screen_between(spin_b, a) == screen
    assert store.screen_between(a, topic) is None

    first = store.add_screen_refusal(screen_id=screen.id, reader_id=a, artifact_id=run_b,
                                     via="read_result", step_key="execute/step/0.0")
    again = store.add_screen_refusal(screen_id=screen.id, reader_id=a, artifact_id=run_b,
                                     via="read_result", step_key="execute/step/0.0")
    assert first == again and len(store.screen_refusals(run_id=run.id)) == 1

    with pytest.raises(DataError, match="needs a reason"):
        store.lift_screen(screen.id, reason=" ")
    lifted = store.lift_screen(screen.id, reason="review 3: the baseline is needed")
    assert not lifted.active and store.artifact(record).status == Status.LIFTED
    assert store.blocking_screen(reader=a, target=run_b) is None
    assert store.screens(run_id=run.id, active=True) == []
    assert store.screen_between(a, b) == lifted  # it did keep them apart until then


def test_a_screen_needs_two_projects_and_cited_ids_are_checked(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    a = _art(store, run.id, Kind.PROPOSAL)
    with pytest.raises(DataError, match="both sides"):
        store.add_screen(run_id=run.id, artifact_id=a, project_a=a, project_b=a, question="q",
                         reason="r")
    assert store.existing_artifacts([a, a + 100, a]) == {a}
    with pytest.raises(DataError, match="no information screen"):
        store.screen(12345)
