"""`Store.review_marker` changes with everything the review queue shows."""

from __future__ import annotations

from autoalign.store import RefusalWrite, Store
from autoalign.vocabulary import ErasureRefusal, ReviewDecision, Status


def test_the_marker_moves_with_each_change(store: Store) -> None:
    seen = [store.review_marker()]
    a = store.add_artifact(run_id=None, kind="note", stage="test")
    seen.append(store.review_marker())
    request = store.add_review_request(artifact_id=a.id, reason="look")
    seen.append(store.review_marker())
    store.add_flaw(artifact_id=a.id, category="overclaiming", severity="major",
                   description="too strong")
    seen.append(store.review_marker())
    store.set_status(a.id, Status.TAINTED, reason="test")
    seen.append(store.review_marker())
    store.add_review_label(request_id=request, decision=ReviewDecision.UNSURE, reviewer="ann")
    seen.append(store.review_marker())
    # log erasure (issue 14, part ER): an erasure rewrites content, so it moves the marker
    store.erase_artifacts(policy="p", policy_digest="0" * 64, refusals=[RefusalWrite(
        artifact_id=a.id, reason=ErasureRefusal.OPEN_REVIEW, detail="open")])
    seen.append(store.review_marker())
    assert len(set(seen)) == len(seen)
    assert store.review_marker() == seen[-1]  # nothing changed: the same marker
