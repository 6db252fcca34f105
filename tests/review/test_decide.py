"""Decisions on review requests: labels, resolution, and the rollback a confirm triggers."""

from __future__ import annotations

import pytest

from autoalign.errors import DataError, UsageError
from autoalign.review import check_reviewer, decide, request_context
from autoalign.store import Rollback, Store
from autoalign.vocabulary import ReviewDecision, ReviewStatus, Status

from .dag import Dag


def _events(store: Store, dag: Dag) -> dict[str, list[str]]:
    return {name: [e.status for e in store.status_history(i)] for name, i in dag.ids.items()}


def test_a_confirm_taints_exactly_the_downstream_set(store: Store, dag: Dag) -> None:
    before = _events(store, dag)
    done = decide(store, dag.request, decision=ReviewDecision.CONFIRM, reviewer="alice",
                  flaw_id=dag.flaw, comment="real")
    after = _events(store, dag)

    # log_a holds the flaw; step_c, mixed_d (a diamond with log_b) and the paper descend from it.
    downstream = {"step_c", "mixed_d", "paper"}
    assert {n for n in dag.ids if after[n] != before[n]} == downstream | {"log_a"}
    assert after["log_a"] == ["ok", "flawed"]
    for name in downstream:
        assert after[name] == ["ok", "tainted"], name
    for name in ("topic", "log_b", "other_f", "lone"):
        assert after[name] == ["ok"], name
    assert done.rollback is not None
    assert done.rollback.artifact_id == dag["log_a"] and done.rollback.marked_flawed
    assert set(done.rollback.tainted) == set(done.rollback.downstream) == {
        dag[n] for n in downstream
    }
    assert set(store.descendants(dag["log_a"])) == {dag[n] for n in downstream}


def test_the_taint_reason_names_the_flaw_the_review_and_the_reviewer(
    store: Store, dag: Dag
) -> None:
    decide(store, dag.request, decision=ReviewDecision.CONFIRM, reviewer="alice",
           flaw_id=dag.flaw)
    flawed = store.status_history(dag["log_a"])[-1].reason or ""
    tainted = store.status_history(dag["paper"])[-1].reason or ""
    for reason in (flawed, tainted):
        assert f"flaw {dag.flaw} confirmed" in reason
        assert f"in review {dag.request} by alice" in reason
        assert "critic c2.x v3" in reason and "the control arm is missing" in reason
    assert tainted.startswith(f"downstream of artifact {dag['log_a']}")


def test_deciding_twice_adds_a_label_but_no_status_event(store: Store, dag: Dag) -> None:
    decide(store, dag.request, decision=ReviewDecision.CONFIRM, reviewer="alice",
           flaw_id=dag.flaw)
    once = _events(store, dag)
    again = decide(store, dag.request, decision=ReviewDecision.CONFIRM, reviewer="bob",
                   flaw_id=dag.flaw)
    assert _events(store, dag) == once
    assert again.rollback is not None
    assert again.rollback.tainted == () and not again.rollback.marked_flawed
    assert [label.reviewer for label in store.review_labels(request_id=dag.request)] == [
        "alice", "bob"
    ]


def test_rolling_back_directly_is_idempotent(store: Store, dag: Dag) -> None:
    rollback = Rollback(artifact_id=dag["log_b"], flawed_reason="f", tainted_reason="t")
    first = store.roll_back(rollback)
    assert set(first.tainted) == {dag["mixed_d"], dag["paper"], dag["other_f"]}
    events = _events(store, dag)
    second = store.roll_back(rollback)
    assert second.tainted == () and not second.marked_flawed
    assert _events(store, dag) == events


def test_a_confirm_without_a_flaw_flags_the_requests_artifact(store: Store, dag: Dag) -> None:
    done = decide(store, dag.request, decision=ReviewDecision.CONFIRM, reviewer="alice")
    assert done.label.artifact_id == dag["paper"] and done.label.flaw_id is None
    assert store.artifact(dag["paper"]).status == Status.FLAWED
    assert done.rollback is not None and done.rollback.downstream == ()
    assert store.artifact(dag["log_a"]).status == Status.OK


def test_dismiss_resolves_and_taints_nothing(store: Store, dag: Dag) -> None:
    before = _events(store, dag)
    done = decide(store, dag.request, decision=ReviewDecision.DISMISS, reviewer="alice",
                  flaw_id=dag.flaw, comment="the control is in the appendix")
    assert done.rollback is None
    assert _events(store, dag) == before
    request = store.review_request(dag.request)
    assert request.status == ReviewStatus.RESOLVED
    assert request.resolution == ReviewDecision.DISMISS
    assert request.resolved_at == done.label.created_at
    assert store.count_review_requests() == 0
    assert store.count_review_requests(status="resolved") == 1


def test_unsure_is_stored_and_leaves_the_request_open(store: Store, dag: Dag) -> None:
    before = _events(store, dag)
    done = decide(store, dag.request, decision=ReviewDecision.UNSURE, reviewer="alice",
                  comment="cannot tell from the logs")
    assert done.rollback is None and _events(store, dag) == before
    request = store.review_request(dag.request)
    assert (request.status, request.resolution, request.resolved_at) == (
        ReviewStatus.OPEN, None, None
    )
    [label] = store.review_labels(request_id=dag.request)
    assert (label.decision, label.comment) == (ReviewDecision.UNSURE, "cannot tell from the logs")
    assert store.count_review_requests() == 1


def test_two_reviewers_are_two_labels_and_a_confirm_wins(store: Store, dag: Dag) -> None:
    first = decide(store, dag.request, decision=ReviewDecision.DISMISS, reviewer="alice")
    second = decide(store, dag.request, decision=ReviewDecision.CONFIRM, reviewer="bob",
                    flaw_id=dag.flaw, comment="it is real", corrected_severity=None)
    third = decide(store, dag.request, decision=ReviewDecision.DISMISS, reviewer="carol")
    labels = store.review_labels(request_id=dag.request)
    assert [(x.reviewer, x.decision) for x in labels] == [
        ("alice", "dismiss"), ("bob", "confirm"), ("carol", "dismiss")
    ]
    assert [x.id for x in labels] == [first.label.id, second.label.id, third.label.id]
    request = store.review_request(dag.request)
    assert request.resolution == ReviewDecision.CONFIRM
    assert request.resolved_at == second.label.created_at
    # A later dismiss does not undo the taint.
    assert store.artifact(dag["paper"]).status == Status.TAINTED


def test_labels_are_easy_to_query(store: Store, dag: Dag) -> None:
    from autoalign.critics import Severity

    decide(store, dag.request, decision=ReviewDecision.CONFIRM, reviewer="alice",
           flaw_id=dag.flaw, corrected_severity=Severity.MAJOR, comment="less bad")
    decide(store, dag.request, decision=ReviewDecision.UNSURE, reviewer="bob")
    [by_flaw] = store.review_labels(flaw_id=dag.flaw)
    assert (by_flaw.artifact_id, by_flaw.corrected_severity, by_flaw.comment) == (
        dag["log_a"], "major", "less bad"
    )
    assert store.review_labels(decision=ReviewDecision.UNSURE)[0].reviewer == "bob"
    assert store.review_labels(reviewer="alice") == [by_flaw]
    assert store.review_labels(artifact_id=dag["log_a"]) == [by_flaw]
    assert by_flaw.created_at.tzinfo is not None


def test_a_flaw_outside_the_requests_context_is_refused(store: Store, dag: Dag) -> None:
    stray = store.add_flaw(artifact_id=dag["other_f"], category="other", severity="minor",
                           description="elsewhere")
    with pytest.raises(DataError, match="neither review request"):
        decide(store, dag.request, decision=ReviewDecision.CONFIRM, reviewer="alice",
               flaw_id=stray.id)
    with pytest.raises(DataError, match="no flaw with id 999"):
        decide(store, dag.request, decision=ReviewDecision.CONFIRM, reviewer="alice",
               flaw_id=999)
    with pytest.raises(DataError, match="no review request with id 999"):
        decide(store, 999, decision=ReviewDecision.DISMISS, reviewer="alice")
    assert store.review_labels() == []
    assert store.artifact(dag["other_f"]).status == Status.OK


@pytest.mark.parametrize("name", [None, "", "   ", "a\nb", "\x1b[2J", "x" * 201])
def test_a_reviewer_must_be_named_on_one_line(name: str | None) -> None:
    with pytest.raises(UsageError):
        check_reviewer(name)


def test_the_context_holds_flaws_provenance_logs_and_runs(store: Store, dag: Dag) -> None:
    view = request_context(store, dag.request)
    assert view.artifact.id == dag["paper"]
    assert [f.id for f in view.flaws] == [dag.flaw]
    assert (view.flaws[0].critic, view.flaws[0].critic_version) == ("c2.x", "3")
    assert {a.artifact.id for a in view.ancestors} == {
        dag[n] for n in ("topic", "log_a", "log_b", "step_c", "mixed_d")
    }
    assert [a.artifact.id for a in view.ancestors if a.is_root] == [dag["topic"]]
    assert set(view.logs) == {dag["log_a"], dag["log_b"]}
    assert view.sandbox_runs == (dag["mixed_d"],)
    assert view.downstream == ()
