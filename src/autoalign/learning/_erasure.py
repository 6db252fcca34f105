"""Progressive log erasure: plan which detailed logs an `ErasurePolicy` erases, in which order,
and which it must not touch; then erase them, one transaction per batch.

The plan (`plan_erasure`) reads every artifact of the policy's kinds and:

1. protects, whatever the policy says (`protections`): an artifact under an open review or
   upstream of one (the reviewer's evidence), one carrying a flaw a reviewer confirmed, one
   that feeds a metric a registered safety case reads (through a recorded flaw, a human label
   or a scored claim), and one whose run has not completed;
2. scores the rest (`score_terms`): older first, less important first, less controversial
   first, with the policy's weights;
3. takes them in score order until the budget is met.

`apply_erasure` records every refusal and erases the planned artifacts (`Store.erase_artifacts`):
each batch is one transaction, so a killed run leaves each artifact either erased with its
record or untouched, and applying the policy again resumes (an erased artifact is not a
candidate any more, a refusal already recorded is not recorded again).
Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..store import (
    ERASED_KEY,
    ErasureBatch,
    ErasureCandidate,
    ErasureRecord,
    ErasureSignals,
    ErasureWrite,
    RefusalWrite,
    Store,
    content_digest,
)
from ..vocabulary import ErasureRefusal, ReviewDecision, ReviewStatus, RunStatus
from ._erasure_policy import ErasurePolicy, ErasureWeights
from ._erasure_summary import render_summary, summarize


@dataclass(frozen=True, kw_only=True)
class ScoreTerms:
    """The three terms of a candidate's score, each in [0, 1), and what they were made of."""

    age_days: float
    age: float
    """`days / (days + age_scale_days)`."""
    importance: float
    """`I / (I + importance_scale)`, `I` = descendants + weight x accepted papers below."""
    controversy: float
    """`C / (C + 1)`, `C` = flaws + review requests (on it or below) + judge disagreement."""
    signals: ErasureSignals

    def score(self, weights: ErasureWeights) -> float:
        """`age * w_age - importance * w_importance - controversy * w_controversy`."""
        return (weights.age * self.age - weights.importance * self.importance
                - weights.controversy * self.controversy)


def score_terms(
    signals: ErasureSignals, *, created_at: datetime, now: datetime, weights: ErasureWeights
) -> ScoreTerms:
    """The score's terms for one candidate (see `ScoreTerms`)."""
    days = max((now - created_at).total_seconds() / 86400.0, 0.0)
    importance = signals.descendants + weights.accepted_paper_weight * signals.accepted_downstream
    controversy = signals.flaws + signals.reviews + signals.disagreement
    return ScoreTerms(
        age_days=days, age=days / (days + weights.age_scale_days),
        importance=importance / (importance + weights.importance_scale),
        controversy=controversy / (controversy + 1.0), signals=signals,
    )


@dataclass(frozen=True, kw_only=True)
class Protection:
    """A candidate the policy may not erase, and why (one per reason)."""

    artifact_id: int
    kind: str
    reason: ErasureRefusal
    detail: str
    """Which review, flaw, case or run."""
    score: float | None = None


@dataclass(frozen=True, kw_only=True)
class PlannedErasure:
    """An artifact the plan erases, with its score and what replaces its content."""

    artifact_id: int
    kind: str
    run_id: int | None
    score: float
    terms: ScoreTerms
    original_sha256: str
    original_bytes: int
    bytes_freed: int
    """Original size minus the size of the record that replaces it."""
    summary: dict[str, Any]
    content_text: str = field(repr=False)
    content_json: dict[str, Any] = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class ErasurePlan:
    """What a policy would do now."""

    policy: str
    policy_digest: str
    kinds: tuple[str, ...]
    planned_at: datetime
    erase: list[PlannedErasure]
    """In the order they are erased (score descending, then id)."""
    protected: list[Protection]
    already_erased: int
    """Artifacts of the policy's kinds erased before (by any policy)."""
    too_small: list[int]
    """Unprotected candidates left because their record would be no smaller than they are."""
    bytes_before: int
    """Bytes the policy's kinds take now."""
    original_bytes: int
    """Bytes they took before any erasure."""
    target_bytes: int | None
    """The bytes-left target (the smaller of `max_bytes_left` and `max_fraction_left` x
    `original_bytes`), None when the budget is a count only."""

    @property
    def bytes_after(self) -> int:
        """Bytes the policy's kinds take once the plan is carried out."""
        return self.bytes_before - sum(e.bytes_freed for e in self.erase)

    @property
    def budget_met(self) -> bool:
        """Whether the bytes-left target is reached (True without a target)."""
        return self.target_bytes is None or self.bytes_after <= self.target_bytes


@dataclass(frozen=True, kw_only=True)
class ErasureResult:
    """What `apply_erasure` did."""

    plan: ErasurePlan
    erased: list[ErasureRecord]
    refused: list[ErasureRecord]
    """Refusals recorded now (one recorded by an earlier application is not repeated)."""
    skipped: list[int]
    """Planned erasures not made (erased meanwhile, or the run was resumed)."""


def erased_content(
    *, kind: str, content_json: Any, sha256: str, size: int, policy: ErasurePolicy,
    at: datetime,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """What replaces an artifact's content: (text, JSON, summary)."""
    summary = summarize(kind, content_json)
    when = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = {"at": when, "policy": policy.name, "policy_digest": policy.digest,
              "sha256": sha256, "bytes": size}
    text = (f"erased at {when} by policy {policy.name} ({policy.digest[:12]}): the original "
            f"content ({size} bytes, sha256 {sha256}) is gone; kept:\n"
            + render_summary(summary))
    return text, {ERASED_KEY: record, "summary": summary}, summary


def _case_metrics(store: Store) -> dict[str, list[str]]:
    """Each `db:` metric path the registered cases' latest snapshots read, with the cases."""
    from ..case import snapshot_evaluation

    found: dict[str, list[str]] = {}
    for reg in store.registered_cases():
        snapshots = store.case_snapshots(case_name=reg.name)
        if not snapshots:
            continue
        for node in snapshot_evaluation(snapshots[-1]).nodes.values():
            for metric in node.metrics:
                if metric.startswith("db:"):
                    found.setdefault(metric, [])
                    if reg.name not in found[metric]:
                        found[metric].append(reg.name)
    return found


def _case_evidence(
    store: Store, candidates: list[ErasureCandidate]
) -> dict[int, str]:
    """Candidates that feed a metric a registered case reads, through a record a reviewer of
    that number would open: a flaw on it (the numerator of `steps.flaw_rate`), a human label on
    it (`review.error_rate`) or a claim it states (`calibration.*`). Membership in a rate's
    denominator alone does not protect: that count is read from rows an erasure keeps, and it
    would protect every artifact."""
    from ..case import artifact_metrics, parse_path

    metrics = _case_metrics(store)
    if not metrics or not candidates:
        return {}
    ids = [c.id for c in candidates]
    flawed = {f.artifact_id for f in store.flaws(artifact_ids=ids)}
    labelled = {lab.artifact_id for lab in store.review_labels()}
    claiming = store.with_claims(ids)
    out: dict[int, str] = {}
    for c in candidates:
        has_claims = c.id in claiming
        if c.id not in flawed and c.id not in labelled and not has_claims:
            continue
        kept = []
        for metric in artifact_metrics(store, c.id, list(metrics)):
            name = parse_path(metric).name
            if (name == "steps.flaw_rate" and c.id in flawed) or (
                    name == "review.error_rate" and c.id in labelled) or (
                    name.startswith("calibration.") and has_claims):
                kept.append(f"{metric} (case {', '.join(metrics[metric])})")
        if kept:
            out[c.id] = "feeds " + "; ".join(kept)
    return out


def protections(store: Store, candidates: list[ErasureCandidate]) -> dict[int, list[Protection]]:
    """Why each protected candidate may not be erased (candidates absent are unprotected)."""
    wanted = {c.id: c for c in candidates}
    found: dict[int, list[Protection]] = {}

    def add(artifact_id: int, reason: ErasureRefusal, detail: str) -> None:
        c = wanted.get(artifact_id)
        if c is None or any(p.reason == reason for p in found.get(artifact_id, [])):
            return
        found.setdefault(artifact_id, []).append(
            Protection(artifact_id=artifact_id, kind=c.kind, reason=reason, detail=detail))

    for request in store.review_requests(status=ReviewStatus.OPEN):
        detail = f"review request {request.id} on artifact {request.artifact_id} is open"
        add(request.artifact_id, ErasureRefusal.OPEN_REVIEW, detail)
        for ancestor in store.ancestors(request.artifact_id):
            add(ancestor, ErasureRefusal.OPEN_REVIEW, detail + " (its evidence)")
    for label in store.review_labels(decision=ReviewDecision.CONFIRM):
        what = f"flaw {label.flaw_id}" if label.flaw_id is not None else "a flaw"
        add(label.artifact_id, ErasureRefusal.CONFIRMED_FLAW,
            f"{what} confirmed by {label.reviewer} (review request {label.request_id})")
    for artifact_id, detail in _case_evidence(store, candidates).items():
        add(artifact_id, ErasureRefusal.CASE_EVIDENCE, detail)
    for c in candidates:
        if c.run_status is not None and c.run_status != RunStatus.COMPLETED:
            add(c.id, ErasureRefusal.RUN_NOT_FINISHED, f"run {c.run_id} is {c.run_status}")
    return found


def plan_erasure(
    store: Store, policy: ErasurePolicy, *, now: datetime | None = None
) -> ErasurePlan:
    """What `policy` would erase now, in order, and what it must not (nothing is written)."""
    now = now or datetime.now(UTC)
    everything = store.erasure_candidates(policy.kinds)
    live = [c for c in everything if c.erased is None]
    signals = store.erasure_signals([c.id for c in live],
                                    accepted_papers=store.accepted_papers())
    terms = {c.id: score_terms(signals[c.id], created_at=c.created_at, now=now,
                               weights=policy.weights) for c in live}
    scores = {i: t.score(policy.weights) for i, t in terms.items()}
    guarded = protections(store, live)
    before = sum(c.size for c in everything)
    original = sum(c.original_bytes for c in everything)
    targets = [t for t in (
        policy.budget.max_bytes_left,
        None if policy.budget.max_fraction_left is None
        else int(policy.budget.max_fraction_left * original),
    ) if t is not None]
    target = min(targets) if targets else None
    left = before
    erase: list[PlannedErasure] = []
    protected: list[Protection] = []
    small: list[int] = []
    for c in sorted(live, key=lambda c: (-scores[c.id], c.id)):
        if c.id in guarded:
            protected += [Protection(artifact_id=p.artifact_id, kind=p.kind, reason=p.reason,
                                     detail=p.detail, score=scores[c.id])
                          for p in guarded[c.id]]
            continue
        if (target is not None and left <= target) or (
                policy.budget.max_count is not None and len(erase) >= policy.budget.max_count):
            continue
        text, body, summary = erased_content(
            kind=c.kind, content_json=c.content_json, sha256=c.sha256, size=c.size,
            policy=policy, at=now)
        freed = c.size - content_digest(text, body)[1]
        if freed <= 0:
            small.append(c.id)
            continue
        left -= freed
        erase.append(PlannedErasure(
            artifact_id=c.id, kind=c.kind, run_id=c.run_id, score=scores[c.id],
            terms=terms[c.id], original_sha256=c.sha256, original_bytes=c.size,
            bytes_freed=freed, summary=summary, content_text=text, content_json=body,
        ))
    return ErasurePlan(
        policy=policy.name, policy_digest=policy.digest, kinds=tuple(policy.kinds),
        planned_at=now, erase=erase, protected=protected,
        already_erased=len(everything) - len(live), too_small=small, bytes_before=before,
        original_bytes=original, target_bytes=target,
    )


def apply_erasure(
    store: Store,
    policy: ErasurePolicy,
    *,
    now: datetime | None = None,
    on_batch: Callable[[ErasureBatch], None] | None = None,
) -> ErasureResult:
    """Plan, record every refusal, and erase the plan's artifacts `policy.batch_size` per
    transaction; `on_batch` is called after each batch is committed.

    Irreversible: the original content is gone (its digest and size stay in the record)."""
    plan = plan_erasure(store, policy, now=now)
    erased: list[ErasureRecord] = []
    refused: list[ErasureRecord] = []
    skipped: list[int] = []
    size = policy.batch_size
    refusals = [RefusalWrite(artifact_id=p.artifact_id, reason=p.reason, detail=p.detail,
                             score=p.score) for p in plan.protected]
    for start in range(0, len(refusals), size):
        batch = store.erase_artifacts(policy=policy.name, policy_digest=policy.digest,
                                      refusals=refusals[start:start + size])
        refused += batch.refused
    for start in range(0, len(plan.erase), size):
        writes = [
            ErasureWrite(
                artifact_id=e.artifact_id, expected_sha256=e.original_sha256,
                content_text=e.content_text, content_json=e.content_json, score=e.score,
                detail=f"{e.kind}: {e.original_bytes} bytes erased; kept "
                + ", ".join(k for k in e.summary if k != "kind"),
                erased_at=plan.planned_at,
            )
            for e in plan.erase[start:start + size]
        ]
        batch = store.erase_artifacts(policy=policy.name, policy_digest=policy.digest,
                                      erasures=writes)
        erased += batch.erased
        refused += batch.refused
        skipped += batch.skipped
        if on_batch is not None:
            on_batch(batch)
    return ErasureResult(plan=plan, erased=erased, refused=refused, skipped=skipped)


__all__ = [
    "ErasurePlan",
    "ErasureResult",
    "PlannedErasure",
    "Protection",
    "ScoreTerms",
    "apply_erasure",
    "erased_content",
    "plan_erasure",
    "protections",
    "score_terms",
]
