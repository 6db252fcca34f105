"""Artifacts: append-only rows, status events, resumable steps, enforced references."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from autoalign.errors import DataError
from autoalign.store import Store
from autoalign.store._schema import Artifact, ArtifactEvent, ProvenanceEdge


def _counts(store: Store) -> list[int]:
    """Rows in the artifact, event and edge tables."""
    with store.engine.connect() as conn:
        return [
            conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (Artifact, ArtifactEvent, ProvenanceEdge)
        ]


def _row(store: Store, artifact_id: int) -> tuple[object, ...]:
    with store.engine.connect() as conn:
        return tuple(
            conn.execute(select(Artifact.__table__).where(Artifact.id == artifact_id)).one()
        )


def test_status_changes_are_events_and_the_row_never_changes(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    art = store.add_artifact(
        run_id=run.id, kind="idea", stage="ideate", content_json={"x": [1, 2]}, step_key="s1"
    )
    before = _row(store, art.id)

    store.set_status(art.id, "flagged", reason="critic found a flaw")
    store.set_status(art.id, "retracted", reason="flaw confirmed")

    assert _row(store, art.id) == before
    history = store.status_history(art.id)
    assert [(e.status, e.reason) for e in history] == [
        ("ok", "created"),
        ("flagged", "critic found a flaw"),
        ("retracted", "flaw confirmed"),
    ]
    assert store.artifact(art.id).status == store.status(art.id) == "retracted"
    assert store.artifact(art.id).created_at == art.created_at  # read back aware, in UTC
    assert store.artifact(art.id).content_json == {"x": [1, 2]}
    assert [a.status for a in store.artifacts(run_id=run.id)] == ["retracted"]


def test_status_of_a_missing_artifact_is_refused(store: Store) -> None:
    with pytest.raises(DataError, match="12345"):
        store.set_status(12345, "flagged")
    with pytest.raises(DataError, match="12345"):
        store.status(12345)
    assert _counts(store) == [0, 0, 0]


def test_same_step_returns_the_existing_artifact_and_writes_nothing(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    parent = store.add_artifact(run_id=run.id, kind="idea", stage="ideate", step_key="p")
    first = store.add_artifact(
        run_id=run.id,
        kind="plan",
        stage="plan",
        content_text="v1",
        step_key="s",
        parents=[parent.id],
    )
    counts = _counts(store)

    again = store.add_artifact(
        run_id=run.id,
        kind="plan",
        stage="plan",
        content_text="v2",
        step_key="s",
        parents=[parent.id],
        status="flagged",
    )

    assert again == first
    assert again.content_text == "v1"
    assert _counts(store) == counts


def test_same_step_in_another_run_is_a_new_artifact(store: Store) -> None:
    one = store.create_run(name="one", agenda_digest="d" * 64, config={})
    two = store.create_run(name="two", agenda_digest="d" * 64, config={})
    a = store.add_artifact(run_id=one.id, kind="idea", stage="ideate", step_key="s")
    b = store.add_artifact(run_id=two.id, kind="idea", stage="ideate", step_key="s")
    assert a.id != b.id


def test_a_missing_parent_is_refused_and_nothing_is_written(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    real = store.add_artifact(run_id=run.id, kind="idea", stage="ideate")
    counts = _counts(store)

    with pytest.raises(DataError, match="9999"):
        store.add_artifact(
            run_id=run.id, kind="plan", stage="plan", step_key="s", parents=[real.id, 9999]
        )

    assert _counts(store) == counts
    assert store.artifact_by_step(run.id, "s") is None


def test_parents_keep_their_relation(store: Store) -> None:
    a = store.add_artifact(run_id=None, kind="idea", stage="ideate")
    b = store.add_artifact(run_id=None, kind="paper", stage="write")
    c = store.add_artifact(
        run_id=None, kind="review", stage="review", parents=[(b.id, "context"), a.id, a.id]
    )
    assert [(e.parent_id, e.relation) for e in store.parents(c.id)] == [
        (a.id, "derived_from"),
        (b.id, "context"),
    ]


def test_artifact_counts_per_run_are_counted_in_the_database(store: Store) -> None:
    one = store.create_run(name="a", agenda_digest="1" * 64, config={}).id
    two = store.create_run(name="b", agenda_digest="2" * 64, config={}).id
    store.create_run(name="c", agenda_digest="3" * 64, config={})
    for i in range(3):
        store.add_artifact(run_id=one, kind="idea", stage="propose", content_text=f"idea {i}",
                           content_json={})
    store.add_artifact(run_id=two, kind="idea", stage="propose", content_text="x",
                       content_json={})
    store.add_artifact(run_id=None, kind="idea", stage="propose", content_text="y",
                       content_json={})
    assert store.artifact_counts() == {one: 3, two: 1}
    assert {r: len(store.artifacts(run_id=r)) for r in (one, two)} == {one: 3, two: 1}


def test_a_step_key_prefix_is_matched_literally(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="p" * 64, config={}).id
    for key in ("execute/step/0.0/run/a", "execute/step/0.0/run/b@1", "execute/step/0.1/run/c",
                "execute/step/0_0/run/d"):
        store.add_artifact(run_id=run, kind="sandbox_run", stage="execute", step_key=key,
                           content_json={})
    found = store.artifacts(run_id=run, step_key_prefix="execute/step/0.0/run/")
    assert [a.step_key for a in found] == ["execute/step/0.0/run/a", "execute/step/0.0/run/b@1"]
    assert store.artifacts(run_id=run, step_key_prefix="execute/step/0_") == [
        a for a in store.artifacts(run_id=run) if a.step_key == "execute/step/0_0/run/d"
    ]
