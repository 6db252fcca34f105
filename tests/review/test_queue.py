"""The queue's order: worst flaw severity, then artifacts downstream, then age."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from autoalign.review import review_queue
from autoalign.store import Store
from autoalign.store._schema import ReviewRequest
from autoalign.vocabulary import Kind, ReviewDecision, Stage


def _request(store: Store, name: str, *, children: int, severity: str | None,
             flaw_upstream: bool = False) -> int:
    """A request about a new artifact with `children` descendants and one flaw of `severity`
    (on the artifact, or on a parent of it)."""
    parent = store.add_artifact(run_id=None, kind=Kind.STEP_LOG, stage=Stage.EXECUTE)
    art = store.add_artifact(run_id=None, kind=Kind.PAPER, stage=Stage.WRITEUP, title=name,
                             parents=[parent.id])
    for _ in range(children):
        store.add_artifact(run_id=None, kind=Kind.STEP_REPORT, stage=Stage.EXECUTE,
                           parents=[art.id])
    if severity is not None:
        store.add_flaw(artifact_id=parent.id if flaw_upstream else art.id, category="other",
                       severity=severity, description=name)
    return store.add_review_request(artifact_id=art.id, reason=name)


def test_open_requests_come_by_severity_then_downstream_then_age(store: Store) -> None:
    minor = _request(store, "minor", children=5, severity="minor")
    none_new = _request(store, "none-new", children=2, severity=None)
    none_old = _request(store, "none-old", children=2, severity=None)
    major_few = _request(store, "major-few", children=1, severity="major")
    major_many = _request(store, "major-many", children=3, severity="major", flaw_upstream=True)
    critical = _request(store, "critical", children=0, severity="critical")
    done = _request(store, "resolved", children=9, severity="critical")
    with store.engine.begin() as conn:  # older, though its id is higher
        conn.execute(update(ReviewRequest).where(ReviewRequest.id == none_old)
                     .values(created_at=datetime(2020, 1, 1, tzinfo=UTC)))
    store.add_review_label(request_id=done, decision=ReviewDecision.DISMISS, reviewer="r")

    queue = review_queue(store)
    assert [e.request.id for e in queue] == [
        critical, major_many, major_few, minor, none_old, none_new
    ]
    first = queue[0]
    assert (first.worst_severity, first.flaws, first.downstream, first.labels) == (
        "critical", 1, 0, 0
    )
    assert queue[1].worst_severity == "major"  # a flaw upstream of the artifact counts
    assert [e.downstream for e in queue] == [0, 3, 1, 5, 2, 2]

    everything = review_queue(store, include_resolved=True)
    assert [e.request.id for e in everything] == [e.request.id for e in queue] + [done]
    assert everything[-1].labels == 1


def test_an_unsure_request_stays_in_the_queue(store: Store) -> None:
    request = _request(store, "r", children=0, severity="minor")
    store.add_review_label(request_id=request, decision=ReviewDecision.UNSURE, reviewer="a")
    [entry] = review_queue(store)
    assert (entry.request.id, entry.labels) == (request, 1)
