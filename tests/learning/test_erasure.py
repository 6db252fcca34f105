"""Progressive log erasure on SQLite and PostgreSQL: what is refused (and recorded), the order,
the budget, provenance after an erasure, idempotence and an interrupted application."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from autoalign.errors import DataError
from autoalign.learning import (
    ErasureWeights,
    apply_erasure,
    plan_erasure,
    score_terms,
    summarize,
)
from autoalign.store import ErasureBatch, ErasureSignals, Store, content_digest, erased_mark
from autoalign.vocabulary import ErasureOutcome, ErasureRefusal, Kind, RunStatus, Stage

from .erasure_world import build, policy, sandbox_content


def _sha(store: Store, artifact_id: int) -> str:
    a = store.artifact(artifact_id)
    return content_digest(a.content_text, a.content_json)[0]


def test_protected_artifacts_are_refused_and_each_refusal_is_recorded(
    store: Store, tmp_path: Path
) -> None:
    w = build(store, tmp_path)
    before = {i: _sha(store, i) for i in (w.reviewed, w.confirmed, w.evidence, w.running)}
    result = apply_erasure(store, policy())
    assert sorted(r.artifact_id for r in result.erased) == sorted(w.free)
    refused = {(r.artifact_id, r.reason) for r in store.erasures(outcome=ErasureOutcome.REFUSED)}
    assert refused == {
        (w.reviewed, ErasureRefusal.OPEN_REVIEW),
        (w.confirmed, ErasureRefusal.CONFIRMED_FLAW),
        # the confirmed flaw is also a recorded flaw the case's step flaw rate counts
        (w.confirmed, ErasureRefusal.CASE_EVIDENCE),
        (w.evidence, ErasureRefusal.CASE_EVIDENCE),
        (w.running, ErasureRefusal.RUN_NOT_FINISHED),
    }
    for row in store.erasures(outcome=ErasureOutcome.REFUSED):
        assert row.policy == "test-policy" and row.detail
    assert {i: _sha(store, i) for i in before} == before  # untouched
    for i in before:
        assert erased_mark(store.artifact(i).content_json) is None


def test_without_protection_the_same_artifacts_are_erased(store: Store, tmp_path: Path) -> None:
    w = build(store, tmp_path, protect=False)
    result = apply_erasure(store, policy())
    erased = {r.artifact_id for r in result.erased}
    assert erased == {*w.free, w.reviewed, w.confirmed, w.evidence}
    assert [(r.artifact_id, r.reason) for r in result.refused] == [
        (w.running, ErasureRefusal.RUN_NOT_FINISHED)]


def test_the_order_follows_the_score(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="c" * 64, config={}).id

    def sandbox(parents: list[int]) -> int:
        return store.add_artifact(run_id=run, kind=Kind.SANDBOX_RUN, stage=Stage.EXECUTE,
                                  content_json=sandbox_content(), parents=parents).id

    flawed = sandbox([])  # oldest, but controversial
    store.add_flaw(artifact_id=flawed, category="p_hacking", severity="major", description="x")
    important = sandbox([])
    for _ in range(3):
        store.add_artifact(run_id=run, kind=Kind.STEP_REPORT, stage=Stage.EXECUTE,
                           content_json={}, parents=[important])
    plain = sandbox([])
    store.set_run_status(run, RunStatus.COMPLETED)
    plan = plan_erasure(store, policy())
    assert [e.artifact_id for e in plan.erase] == [plain, important, flawed]
    scores = [e.score for e in plan.erase]
    assert scores == sorted(scores, reverse=True)
    assert plan.erase[1].terms.signals.descendants == 3
    assert plan.erase[2].terms.signals.flaws == 1
    result = apply_erasure(store, policy(max_count=1))
    assert [r.artifact_id for r in result.erased] == [plain]


def test_score_terms_put_older_less_important_less_controversial_first() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    weights = ErasureWeights()

    def score(days: float, **signals: float) -> float:
        terms = score_terms(ErasureSignals(**signals),  # type: ignore[arg-type]
                            created_at=now - timedelta(days=days), now=now, weights=weights)
        return terms.score(weights)

    assert score(60) > score(1)
    assert score(1) > score(1, descendants=5) > score(1, accepted_downstream=1)
    assert score(1) > score(1, flaws=1) > score(1, flaws=1, reviews=1)
    assert score(1) > score(1, disagreement=0.5)
    terms = score_terms(ErasureSignals(), created_at=now - timedelta(days=30), now=now,
                        weights=weights)
    assert terms.age == pytest.approx(0.5)  # half at age_scale_days


def test_an_erased_artifact_still_resolves_and_says_when_and_by_which_policy(
    store: Store, tmp_path: Path
) -> None:
    w = build(store, tmp_path, protect=False)
    sandbox = w.free[1]
    original = store.artifact(sandbox)
    parents = store.parents(sandbox)
    status = store.status_history(sandbox)
    sha, size = content_digest(original.content_text, original.content_json)
    pol = policy()
    apply_erasure(store, pol, now=datetime(2026, 7, 1, 12, tzinfo=UTC))
    # walking up from the step log reaches the erased run, whose row is intact
    assert sandbox in store.ancestors(w.log)
    after = store.artifact(sandbox)
    assert (after.kind, after.stage, after.run_id, after.status) == (
        original.kind, original.stage, original.run_id, original.status)
    assert store.parents(sandbox) == parents and store.status_history(sandbox) == status
    mark = erased_mark(after.content_json)
    assert mark is not None
    assert (mark.policy, mark.policy_digest) == ("test-policy", pol.digest)
    assert mark.erased_at == "2026-07-01T12:00:00Z"
    assert (mark.original_sha256, mark.original_bytes) == (sha, size)
    assert mark.summary == summarize(Kind.SANDBOX_RUN, original.content_json)
    assert after.content_text.startswith("erased at 2026-07-01T12:00:00Z by policy test-policy")
    record = store.erasure_of(sandbox)
    assert record is not None and record.policy_digest == pol.digest
    assert record.created_at == datetime(2026, 7, 1, 12, tzinfo=UTC)
    assert record.original_bytes == size
    assert record.bytes_freed == size - content_digest(after.content_text,
                                                       after.content_json)[1]
    assert record.bytes_freed is not None and record.bytes_freed > 0
    # what the summary keeps of a sandbox run: no output, the means, the wall time
    assert "stdout" not in mark.summary and mark.summary["result"]["mean"] == {"hack": 0.2}
    assert "per_seed" not in mark.summary["result"]
    # the critical path still weighs the erased run by its wall time
    nodes = {n.artifact_id: n for n in store.dependency_graph(w.run) if n.artifact_id}
    assert nodes[sandbox].duration_s == 2.5


def test_reapplying_the_policy_writes_nothing_new(store: Store, tmp_path: Path) -> None:
    build(store, tmp_path)
    first = apply_erasure(store, policy())
    assert first.erased and first.refused
    rows = store.erasures()
    again = apply_erasure(store, policy())
    assert again.erased == [] and again.refused == [] and again.plan.erase == []
    assert store.erasures() == rows
    assert again.plan.already_erased == len(first.erased)


def test_the_bytes_budget_is_respected_and_erasing_stops_once_it_is_met(
    store: Store, tmp_path: Path
) -> None:
    build(store, tmp_path, protect=False)
    dry = plan_erasure(store, policy())
    target = dry.bytes_before - dry.erase[0].bytes_freed - 1  # needs two erasures
    plan = plan_erasure(store, policy(max_bytes_left=target))
    assert len(plan.erase) == 2 and plan.bytes_after <= target
    result = apply_erasure(store, policy(max_bytes_left=target))
    assert len(result.erased) == 2
    left = sum(c.size for c in store.erasure_candidates(plan.kinds))
    assert left == plan.bytes_after <= target
    # a fraction of the original size: erased artifacts count at their size before erasure
    half = plan_erasure(store, policy(max_fraction_left=0.5))
    assert half.target_bytes == int(0.5 * half.original_bytes)
    assert half.original_bytes == dry.bytes_before
    assert half.bytes_after <= half.target_bytes
    assert half.bytes_after + half.erase[-1].bytes_freed > half.target_bytes


def test_a_killed_application_leaves_whole_batches_and_resumes(
    store: Store, tmp_path: Path
) -> None:
    w = build(store, tmp_path, protect=False)
    untouched = {i: _sha(store, i) for i in w.free}

    def die(batch: ErasureBatch) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        apply_erasure(store, policy(), on_batch=die)  # batch_size 2: one batch committed
    erased = [r.artifact_id for r in store.erasures(outcome=ErasureOutcome.ERASED)]
    assert len(erased) == 2
    for i in untouched:
        mark = erased_mark(store.artifact(i).content_json)
        assert (mark is not None) == (i in erased)
        assert (store.erasure_of(i) is not None) == (i in erased)
        if i not in erased:
            assert _sha(store, i) == untouched[i]
    rest = apply_erasure(store, policy())
    assert {r.artifact_id for r in rest.erased} | set(erased) >= set(w.free)
    assert not set(erased) & {r.artifact_id for r in rest.erased}


def test_an_erasure_is_not_made_on_changed_content_or_a_resumed_run(store: Store) -> None:
    from autoalign.store import ErasureWrite

    run = store.create_run(name="r", agenda_digest="d" * 64, config={}).id
    art = store.add_artifact(run_id=run, kind=Kind.SANDBOX_RUN, stage=Stage.EXECUTE,
                             content_json=sandbox_content()).id
    write = ErasureWrite(artifact_id=art, expected_sha256=_sha(store, art), content_text="e",
                         content_json={"erased": {}, "summary": {}}, score=0.0, detail="")
    batch = store.erase_artifacts(policy="p", policy_digest="0" * 64, erasures=[write])
    assert batch.skipped == [art] and batch.erased == []
    assert [r.reason for r in batch.refused] == [ErasureRefusal.RUN_NOT_FINISHED]
    store.set_run_status(run, RunStatus.COMPLETED)
    wrong = ErasureWrite(artifact_id=art, expected_sha256="f" * 64, content_text="e",
                         content_json={"erased": {}, "summary": {}}, score=0.0, detail="")
    assert store.erase_artifacts(policy="p", policy_digest="0" * 64,
                                 erasures=[wrong]).skipped == [art]
    with pytest.raises(DataError, match="no artifact"):
        store.erase_artifacts(policy="p", policy_digest="0" * 64,
                              erasures=[ErasureWrite(**{**write.__dict__, "artifact_id": 10**6})])


def test_readers_of_an_erased_sandbox_run_say_it_cannot_be_checked(
    store: Store, tmp_path: Path
) -> None:
    from autoalign.critics import load_step_runs

    w = build(store, tmp_path, protect=False)
    assert load_step_runs(store, [(w.free[1], "baseline")])  # readable before
    apply_erasure(store, policy())
    with pytest.raises(DataError, match=r"erased at .* by policy test-policy"):
        load_step_runs(store, [(w.free[1], "baseline")])


CASE_LABELS_AND_CLAIMS = """\
G1:
  text: The critics and the claims can be trusted.
  supportedBy: [Sn1, Sn2]
Sn1:
  text: Humans rarely overturn the critics.
  x-evidence:
    metric: "db:review.error_rate"
    bound: upper
    comparison: "<="
    threshold: 0.5
Sn2:
  text: The claims are calibrated.
  x-evidence:
    metric: "db:calibration.brier"
    bound: upper
    comparison: "<="
    threshold: 0.25
"""


def test_case_evidence_through_a_human_label_or_a_claim(store: Store, tmp_path: Path) -> None:
    from autoalign.case import Sources, evaluate, load_text, save_snapshot
    from autoalign.vocabulary import ClaimSource, ReviewDecision

    run = store.create_run(name="r", agenda_digest="f" * 64, config={}).id

    def sandbox() -> int:
        return store.add_artifact(run_id=run, kind=Kind.SANDBOX_RUN, stage=Stage.EXECUTE,
                                  content_json=sandbox_content()).id

    labelled, claiming, plain = sandbox(), sandbox(), sandbox()
    request = store.add_review_request(artifact_id=labelled, reason="look")
    store.add_review_label(request_id=request, decision=ReviewDecision.DISMISS, reviewer="ann")
    store.add_claims(artifact_id=claiming, items=[{"text": "it works", "probability": 0.9}],
                     source=ClaimSource.STUDY)
    store.set_run_status(run, RunStatus.COMPLETED)
    loaded = load_text(CASE_LABELS_AND_CLAIMS)
    assert loaded.case is not None
    path = tmp_path / "case.yaml"
    path.write_text(CASE_LABELS_AND_CLAIMS, encoding="utf-8")
    # before the case is registered nothing protects them
    assert {e.artifact_id for e in plan_erasure(store, policy()).erase} == {
        labelled, claiming, plain}
    store.register_case(name="trust", path=str(path))
    save_snapshot(store, evaluate(loaded.case, Sources(store=store), name="trust"))
    plan = plan_erasure(store, policy())
    assert [e.artifact_id for e in plan.erase] == [plain]
    assert {(p.artifact_id, p.reason) for p in plan.protected} == {
        (labelled, ErasureRefusal.CASE_EVIDENCE), (claiming, ErasureRefusal.CASE_EVIDENCE)}
    details = {p.artifact_id: p.detail for p in plan.protected}
    assert "db:review.error_rate" in details[labelled] and "case trust" in details[labelled]
    assert "db:calibration.brier" in details[claiming]


def test_the_signals_are_counted_on_the_artifact_and_downstream(store: Store) -> None:
    from autoalign.vocabulary import Status

    def art(kind: Kind, parents: list[int]) -> int:
        return store.add_artifact(run_id=None, kind=kind, stage=Stage.EXECUTE,
                                  content_json={}, parents=parents).id

    log = art(Kind.STEP_LOG, [])
    report = art(Kind.STEP_REPORT, [log])
    paper = art(Kind.PAPER, [report])
    other_paper = art(Kind.PAPER, [report])
    store.set_status(paper, Status.ACCEPTED, reason="test")
    store.add_flaw(artifact_id=report, category="p_hacking", severity="major", description="x")
    store.add_flaw(artifact_id=log, category="p_hacking", severity="minor", description="y")
    store.add_review_request(artifact_id=other_paper, reason="look")
    store.add_judgment(artifact_id=log, role="judge", score=2.0, decision="keep")
    store.add_judgment(artifact_id=log, role="judge", score=5.0, decision="drop")
    signals = store.erasure_signals([log, report], accepted_papers=store.accepted_papers())
    assert store.accepted_papers() == [paper]
    assert signals[log] == ErasureSignals(descendants=3, accepted_downstream=1, flaws=2,
                                          reviews=1, disagreement=3.0 + 1)
    assert signals[report] == ErasureSignals(descendants=2, accepted_downstream=1, flaws=1,
                                             reviews=1, disagreement=0.0)


KILLER = """
import os, signal, sys
from autoalign.learning import apply_erasure, parse_policy
from autoalign.store import Store
policy = parse_policy({"name": "test-policy", "budget": {"max_bytes_left": 0},
                       "batch_size": 1})
with Store.open(sys.argv[1]) as store:
    apply_erasure(store, policy, on_batch=lambda _b: os.kill(os.getpid(), signal.SIGKILL))
"""


def test_a_sigkilled_application_leaves_each_artifact_whole_and_resumes(
    db_url: str, tmp_path: Path
) -> None:
    import signal
    import subprocess
    import sys

    with Store.open(db_url) as store:
        w = build(store, tmp_path, protect=False)
        before = {i: _sha(store, i) for i in w.free}
    done = subprocess.run([sys.executable, "-c", KILLER, db_url], check=False, timeout=120)
    assert done.returncode == -signal.SIGKILL
    with Store.open(db_url) as store:
        erased = [r.artifact_id for r in store.erasures(outcome=ErasureOutcome.ERASED)]
        assert len(erased) == 1
        for i, sha in before.items():
            mark = erased_mark(store.artifact(i).content_json)
            assert (mark is not None) == (i in erased)
            assert (_sha(store, i) == sha) == (i not in erased)
        rest = apply_erasure(store, policy())
        assert {r.artifact_id for r in rest.erased} == set(w.free) - set(erased) | {
            w.reviewed, w.confirmed, w.evidence}
        assert all(erased_mark(store.artifact(i).content_json) is not None for i in w.free)
