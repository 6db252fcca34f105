"""The `labels` and `critic_versions` tables through the Store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from autoalign.errors import DataError
from autoalign.store import NewLabel, Store
from autoalign.vocabulary import LabelKind, LabelSource, UpdateKind

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _label(ref: str, critic: str = "c1.x@1", **kw: object) -> NewLabel:
    fields: dict[str, object] = dict(
        kind=LabelKind.ARTIFICIAL, source=LabelSource.REDTEAM_TRIAL, source_ref=ref,
        subject=f"s-{ref}", present=True, severe=True, known_at=T0, critic=critic,
        detected=False, probability=0.4,
    )
    fields.update(kw)
    return NewLabel(**fields)  # type: ignore[arg-type]


def test_adding_labels_twice_adds_them_once(store: Store) -> None:
    first = store.add_labels([_label("a"), _label("a", critic="c1.y@1"), _label("b")])
    assert len(first) == 3
    assert store.add_labels([_label("a"), _label("b"), _label("c")]) != []
    assert len(store.labels()) == 4
    assert store.add_labels([_label("a"), _label("c")]) == []


def test_labels_filter_by_critic_kind_and_time(store: Store) -> None:
    store.add_labels([
        _label("a"), _label("b", critic="c1.x@2", known_at=T0 + timedelta(days=1)),
        _label("c", critic="c2.y@1", kind=LabelKind.ORGANIC, probability=None),
    ])
    assert [r.source_ref for r in store.labels(critic="c1.x@1")] == ["a"]
    assert [r.source_ref for r in store.labels(critic_id="c1.x")] == ["a", "b"]
    assert [r.source_ref for r in store.labels(kinds=[LabelKind.ORGANIC])] == ["c"]
    assert [r.source_ref for r in store.labels(known_before=T0 + timedelta(hours=1))] == [
        "a", "c"]
    assert [r.source_ref for r in store.labels(with_probability=True)] == ["a", "b"]
    got = store.labels(critic="c1.x@2")[0]
    assert got.known_at == T0 + timedelta(days=1) and got.kind == LabelKind.ARTIFICIAL


def test_a_probability_outside_the_unit_interval_is_refused(store: Store) -> None:
    with pytest.raises(DataError, match=r"probability 1\.5"):
        store.add_labels([_label("a", probability=1.5)])
    assert store.labels() == []


def test_critic_versions_count_per_update_and_only_applied_ones_are_in_use(
    store: Store,
) -> None:
    assert store.active_version("c2.review") is None
    rejected = store.add_critic_version(
        critic="c2.review", base_version="1", update=UpdateKind.RECALIBRATION,
        params={"method": "platt"}, evidence={"n": 10}, applied=False, reason="no gain")
    assert rejected.version == "1+recalibration.1" and rejected.parent_id is None
    assert store.active_update("c2.review", UpdateKind.RECALIBRATION) is None
    applied = store.add_critic_version(
        critic="c2.review", base_version="1", update=UpdateKind.RECALIBRATION,
        params={"method": "isotonic"}, evidence={"n": 30}, applied=True, reason="better")
    assert applied.version == "1+recalibration.2" and applied.label == "c2.review@1+recalibration.2"
    library = store.add_critic_version(
        critic="c2.review", base_version="1", update=UpdateKind.FLAW_LIBRARY,
        params={"flaws": 3}, evidence={}, applied=True, reason="new flaws")
    assert library.version == "1+flaw_library.1" and library.parent_id == applied.id
    assert store.active_update("c2.review", UpdateKind.RECALIBRATION) == applied
    assert store.active_version("c2.review") == library
    assert [v.version for v in store.critic_versions(critic="c2.review")] == [
        "1+recalibration.1", "1+recalibration.2", "1+flaw_library.1"]
