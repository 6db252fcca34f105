"""Clean controls a critic flagged go to the human review queue."""

from __future__ import annotations

from autoalign.redteam import ADJUDICATION_PREFIX, request_adjudication
from autoalign.store import Store


def test_flagged_controls_open_one_review_request_each(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    a = store.add_artifact(run_id=run.id, kind="idea", stage="ideate", step_key="a")
    b = store.add_artifact(run_id=run.id, kind="idea", stage="ideate", step_key="b")
    ids = request_adjudication(store, {a.id: ["c2@1", "c1@1"], b.id: ["c1@1"]})
    assert len(set(ids)) == 2
    requests = {r.artifact_id: r for r in store.review_requests()}
    assert set(requests) == {a.id, b.id}
    assert requests[a.id].reason.startswith(f"{ADJUDICATION_PREFIX} by c1@1, c2@1")
    assert requests[a.id].status == "open"
    # Asking again reuses the open request.
    assert request_adjudication(store, {a.id: ["c1@1", "c2@1"]}) == [ids[0]]
    assert len(store.review_requests()) == 2
