"""Recording a reviewer's decision, and the rollback a confirmed flaw triggers."""

from __future__ import annotations

from .._environment import REVIEWER_ENV_VAR
from .._text import clip, control_character
from ..critics import Severity
from ..errors import UsageError
from ..store import (
    REVIEWER_CHARS,
    FlawRecord,
    ReviewDecisionRecord,
    ReviewRequestRecord,
    Rollback,
    Store,
)
from ..vocabulary import ReviewDecision
from ._reexamine import reexamine


def check_reviewer(name: str | None) -> str:
    """The reviewer's name, checked: given, not blank, one line, at most 200 characters.

    Raises:
        UsageError: no name, or one that cannot be stored as it is.
    """
    if name is None or not name.strip():
        raise UsageError(
            f"who is deciding? pass --reviewer NAME or set ${REVIEWER_ENV_VAR}"
        )
    if control_character(name) is not None or len(name) > REVIEWER_CHARS:
        raise UsageError(
            f"reviewer {clip(name)!r} must be one line of at most {REVIEWER_CHARS} characters "
            "without control characters"
        )
    return name.strip()


def decide(
    store: Store,
    request_id: int,
    *,
    decision: ReviewDecision,
    reviewer: str,
    flaw_id: int | None = None,
    comment: str = "",
    corrected_severity: Severity | None = None,
) -> ReviewDecisionRecord:
    """Record `reviewer`'s decision on request `request_id` as a label, and act on it.

    `confirm` resolves the request and rolls back: the flawed artifact (the flaw's, when
    `flaw_id` names one, else the request's) becomes `flawed` and everything downstream of it
    `tainted`, each a status event whose reason names the flaw, the review and the reviewer.
    After the taint, the flawed artifact's run's `[rollback] policy` asks for the affected
    papers to be re-reviewed or written up again (`reexamine`).
    `dismiss` resolves the request and taints nothing. `unsure` is stored and leaves the
    request open. Label, resolution and rollback are one transaction; deciding again adds a
    label but no status event that is already there.

    Raises:
        UsageError: the reviewer is missing or unusable.
        DataError: no such request or flaw, or a flaw outside the request's context.
    """
    reviewer = check_reviewer(reviewer)
    request = store.review_request(request_id)
    flaw = store.flaw(flaw_id) if flaw_id is not None else None
    rollback = None
    if decision == ReviewDecision.CONFIRM:
        what = _what(request, flaw, reviewer, corrected_severity)
        rollback = Rollback(
            artifact_id=flaw.artifact_id if flaw is not None else request.artifact_id,
            flawed_reason=what,
            tainted_reason=(
                f"downstream of artifact "
                f"{flaw.artifact_id if flaw is not None else request.artifact_id}, {what}"
            ),
        )
    done = store.add_review_label(
        request_id=request.id,
        decision=decision,
        reviewer=reviewer,
        flaw_id=flaw_id,
        comment=comment,
        corrected_severity=corrected_severity,
        rollback=rollback,
    )
    if done.rollback is not None:  # after the taint: the run's policy re-examines
        reexamine(store, done.rollback)
    return done


def _what(
    request: ReviewRequestRecord,
    flaw: FlawRecord | None,
    reviewer: str,
    corrected: Severity | None,
) -> str:
    """"flaw 3 (...) confirmed in review 2 by alice": the reason of every rollback event."""
    if flaw is None:
        subject = f"flaw confirmed ({clip(request.reason, limit=120)})"
    else:
        critic = f", critic {flaw.critic} v{flaw.critic_version}" if flaw.critic else ""
        severity = (
            f"{flaw.severity}, corrected to {corrected}" if corrected else flaw.severity
        )
        subject = (
            f"flaw {flaw.id} confirmed ({severity} {flaw.category}{critic}: "
            f"{clip(flaw.description, limit=120)})"
        )
    return f"{subject} in review {request.id} by {clip(reviewer)}"
