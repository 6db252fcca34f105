"""Score the research database's claims about testbed questions against their ground truth."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from ..errors import AutoalignError, DataError
from ..store import ClaimRecord, Store
from ..vocabulary import ClaimSource
from ._report import CalibrationReport, GroupReport, ScoredClaim, SkippedClaim, calibrate

if TYPE_CHECKING:
    from ..testbeds import Truth


class TruthFor(Protocol):
    """Ground truth of every question of the named testbed, as `autoalign.testbeds.ground_truth`
    gives it; raises an `AutoalignError` (e.g. `ConfigError`) for an unknown testbed."""

    def __call__(self, testbed: str, /) -> Sequence[Truth]: ...


def testbed_ground_truth(testbed: str, /) -> Sequence[Truth]:
    """The default `truth_for`: `autoalign.testbeds.ground_truth(testbed)` without a progress
    bar. It reads the on-disk cache, and computes (and caches) the ground truth the first time.
    """
    # Imported on first use: the testbeds pull in their simulations, which scoring does not need
    # when a caller supplies its own ground truth.
    from ..testbeds import ground_truth

    return ground_truth(testbed, progress=False)


def score_claims(
    store: Store,
    *,
    truth_for: TruthFor = testbed_ground_truth,
    n_bins: int = 10,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> CalibrationReport:
    """Score every claim in `store` that answers a testbed question with a probability.

    Each claim's `probability` (that the question's answer is "yes") is scored against the
    question's ground-truth `answer`. `truth_for` is called at most once per testbed. A claim is
    skipped, with its reason recorded in the report, when it names no question, has no
    probability or one outside [0, 1], or when no ground truth exists for its testbed (`truth_for`
    raised an autoalign error) or question. With nothing to score the report has no scores.

    Besides the overall scores, the report's `groups` score the claims of each source (`study`,
    a formula; `pipeline`, agents) and of each (source, model) alone, with the same options: a
    formula's calibration is not a model's, and pooling them would hide either.

    Raises:
        DataError: `truth_for` gave two truths with different answers for one question.
    """
    truths: dict[str, dict[str, Truth] | str] = {}
    """Per testbed, question id → truth, or the reason there is no ground truth."""
    scored: list[ScoredClaim] = []
    skipped: list[SkippedClaim] = []
    for claim in store.claims():
        outcome = _judge(claim, truths, truth_for)
        if isinstance(outcome, SkippedClaim):
            skipped.append(outcome)
        else:
            scored.append(outcome)
    if not scored:
        return CalibrationReport(
            scores=(), bins=(), predictions=(), outcomes=(), skipped=tuple(skipped),
            n_bins=n_bins, n_boot=n_boot, level=level, seed=seed,
        )
    options = _Options(n_bins=n_bins, n_boot=n_boot, level=level, seed=seed)
    return replace(
        _calibrate_claims(scored, options),
        skipped=tuple(skipped),
        groups=_groups(scored, options),
    )


@dataclass(frozen=True, kw_only=True)
class _Options:
    n_bins: int
    n_boot: int
    level: float
    seed: int


def _calibrate_claims(claims: Sequence[ScoredClaim], options: _Options) -> CalibrationReport:
    report = calibrate(
        [c.probability for c in claims],
        [c.outcome for c in claims],
        n_bins=options.n_bins,
        n_boot=options.n_boot,
        level=options.level,
        seed=options.seed,
    )
    return replace(report, claims=tuple(claims))


def _groups(claims: Sequence[ScoredClaim], options: _Options) -> tuple[GroupReport, ...]:
    """Per source (in `ClaimSource` order), the source's group, then one group per model (no
    model first, then by name); each calibrated alone with the same options."""
    groups: list[GroupReport] = []
    for source in ClaimSource:
        mine = [c for c in claims if c.source == source]
        if not mine:
            continue
        groups.append(GroupReport(
            by="source", source=source, model=None, report=_calibrate_claims(mine, options)
        ))
        models = sorted({c.model for c in mine}, key=lambda m: (m is not None, m or ""))
        for model in models:
            theirs = [c for c in mine if c.model == model]
            groups.append(GroupReport(
                by="model", source=source, model=model,
                report=_calibrate_claims(theirs, options),
            ))
    return tuple(groups)


def _judge(
    claim: ClaimRecord,
    truths: dict[str, dict[str, Truth] | str],
    truth_for: TruthFor,
) -> ScoredClaim | SkippedClaim:
    if claim.testbed is None or claim.question_id is None:
        return SkippedClaim(
            claim_id=claim.id, reason="no_question", detail="the claim names no testbed question"
        )
    where = f"{claim.testbed}/{claim.question_id}"
    if claim.probability is None:
        return SkippedClaim(
            claim_id=claim.id, reason="no_probability", detail=f"no probability given for {where}"
        )
    if not (math.isfinite(claim.probability) and 0.0 <= claim.probability <= 1.0):
        return SkippedClaim(
            claim_id=claim.id,
            reason="bad_probability",
            detail=f"probability {claim.probability!r} for {where} is not in [0, 1]",
        )
    if claim.testbed not in truths:
        truths[claim.testbed] = _load(claim.testbed, truth_for)
    known = truths[claim.testbed]
    if isinstance(known, str):
        return SkippedClaim(claim_id=claim.id, reason="unknown_testbed", detail=known)
    truth = known.get(claim.question_id)
    if truth is None:
        return SkippedClaim(
            claim_id=claim.id,
            reason="unknown_question",
            detail=f"testbed {claim.testbed!r} has no ground truth for question "
            f"{claim.question_id!r}",
        )
    return ScoredClaim(
        claim_id=claim.id,
        artifact_id=claim.artifact_id,
        testbed=claim.testbed,
        question_id=claim.question_id,
        probability=claim.probability,
        source=claim.source,
        model=claim.model,
        outcome=truth.answer,
        truth_version=truth.version,
    )


def _load(testbed: str, truth_for: TruthFor) -> dict[str, Truth] | str:
    """Question id → truth for `testbed`, or why there is none."""
    try:
        found = truth_for(testbed)
    except AutoalignError as exc:
        return f"no ground truth for testbed {testbed!r}: {exc}"
    by_question: dict[str, Truth] = {}
    for truth in found:
        seen = by_question.get(truth.question_id)
        if seen is not None and seen.answer != truth.answer:
            raise DataError(
                f"ground truth of testbed {testbed!r} answers question {truth.question_id!r} "
                f"both ways (versions {seen.version!r} and {truth.version!r}); recompute it"
            )
        by_question[truth.question_id] = truth
    return by_question
