"""Human review: requests, the labels reviewers record on them, and rollback.

A label is never updated; two reviewers on one request are two rows. Recording a label, the
request's resolution and any rollback it triggers is one transaction, under a lock every process
takes (`_locked`), so two reviewers deciding at once neither lose a label nor double a status
event.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import DataError
from ..vocabulary import ReviewDecision, ReviewStatus, Status
from . import _provenance
from ._records import (
    ReviewDecisionRecord,
    ReviewLabelRecord,
    ReviewRequestRecord,
    Rollback,
    RollbackRecord,
)
from ._schema import (
    Artifact,
    ArtifactEvent,
    Erasure,
    Flaw,
    ReviewLabel,
    ReviewRequest,
    utcnow,
)
from ._session import StoreBase
from ._status import current_statuses

_LOCK = "review"
"""Name of the cross-process lock around every review write."""

REVIEWER_CHARS = 200
"""Longest reviewer name (`review_labels.reviewer`)."""
SEVERITY_CHARS = 20
"""Longest corrected severity (`review_labels.corrected_severity`)."""


class ReviewsMixin(StoreBase):
    """Review requests, review labels and rollback (`flawed` and `tainted` status events)."""

    def review_request(self, request_id: int) -> ReviewRequestRecord:
        """One review request.

        Raises:
            DataError: there is no request with this id.
        """
        with self._read() as s:
            return _request(_get_request(s, request_id))

    def review_marker(self) -> tuple[int, ...]:
        """A value that changes whenever the review queue may have changed: the largest id of
        artifacts, status events, flaws, review requests and labels, and erasures (an erasure
        rewrites an artifact's content and adds a row). The store only appends to those tables
        (a request's resolution changes with a new label), so an unchanged marker means an
        unchanged queue. One query; indexes only."""
        query = select(*(select(func.coalesce(func.max(table.id), 0)).scalar_subquery()
                         for table in (Artifact, ArtifactEvent, Flaw, ReviewRequest,
                                       ReviewLabel, Erasure)))
        with self._read() as s:
            row = s.execute(query).one()
        return tuple(int(x) for x in row)

    def review_requests(self, *, status: ReviewStatus | None = None) -> list[ReviewRequestRecord]:
        """Review requests in creation order; only those with `status` when it is given."""
        query = select(ReviewRequest).order_by(ReviewRequest.id)
        if status is not None:
            query = query.where(ReviewRequest.status == status)
        with self._read() as s:
            return [_request(r) for r in s.scalars(query)]

    def add_review_label(
        self,
        *,
        request_id: int,
        decision: ReviewDecision,
        reviewer: str,
        flaw_id: int | None = None,
        comment: str = "",
        corrected_severity: str | None = None,
        rollback: Rollback | None = None,
    ) -> ReviewDecisionRecord:
        """Record a reviewer's decision as a new label, resolve the request, and roll back.

        `confirm` and `dismiss` resolve the request; `unsure` leaves it as it is. A `confirm`
        wins: once one reviewer confirmed, the resolution stays `confirm` (the taint it caused
        is not undone by a later `dismiss`, which is still stored as a label). `resolved_at` is
        the time of the label that set the resolution. `rollback`, when given, is applied in
        the same transaction (see `roll_back`).

        Raises:
            DataError: no such request or flaw, a flaw that lies neither on the request's
                artifact nor upstream of it, a rollback that starts elsewhere than the artifact
                decided on (the flaw's, else the request's), a decision that is not a
                `ReviewDecision`, or an empty or too long reviewer or severity.
        """
        try:
            decision = ReviewDecision(decision)
        except ValueError:
            raise DataError(
                f"review decision {decision!r} must be one of "
                f"{', '.join(d.value for d in ReviewDecision)}"
            ) from None
        _check_text("reviewer", reviewer, REVIEWER_CHARS)
        if corrected_severity is not None:
            _check_text("corrected severity", corrected_severity, SEVERITY_CHARS)
        with self._locked(_LOCK) as s:
            request = _get_request(s, request_id)
            artifact_id = request.artifact_id
            if flaw_id is not None:
                artifact_id = _flaw_in_context(s, request, flaw_id)
            if rollback is not None and rollback.artifact_id != artifact_id:
                raise DataError(
                    f"review request {request.id}'s decision is about artifact {artifact_id}, "
                    f"but the rollback given starts at artifact {rollback.artifact_id}"
                )
            now = utcnow()
            label = ReviewLabel(
                request_id=request.id, artifact_id=artifact_id, flaw_id=flaw_id,
                decision=decision, comment=comment, corrected_severity=corrected_severity,
                reviewer=reviewer, created_at=now,
            )
            s.add(label)
            if decision.resolves:
                confirmed = ReviewDecision.CONFIRM in (decision, request.resolution)
                resolution = ReviewDecision.CONFIRM if confirmed else ReviewDecision.DISMISS
                if request.resolution != resolution:
                    request.status = ReviewStatus.RESOLVED
                    request.resolution = resolution
                    request.resolved_at = now
            s.flush()
            done = _roll_back(s, rollback) if rollback is not None else None
            return ReviewDecisionRecord(label=_label(label), request=_request(request),
                                        rollback=done)

    def review_labels(
        self,
        *,
        request_id: int | None = None,
        artifact_id: int | None = None,
        flaw_id: int | None = None,
        decision: ReviewDecision | None = None,
        reviewer: str | None = None,
    ) -> list[ReviewLabelRecord]:
        """Labels in the order they were recorded, matching every filter given."""
        query = select(ReviewLabel).order_by(ReviewLabel.id)
        if request_id is not None:
            query = query.where(ReviewLabel.request_id == request_id)
        if artifact_id is not None:
            query = query.where(ReviewLabel.artifact_id == artifact_id)
        if flaw_id is not None:
            query = query.where(ReviewLabel.flaw_id == flaw_id)
        if decision is not None:
            query = query.where(ReviewLabel.decision == decision)
        if reviewer is not None:
            query = query.where(ReviewLabel.reviewer == reviewer)
        with self._read() as s:
            return [_label(r) for r in s.scalars(query)]

    def roll_back(self, rollback: Rollback) -> RollbackRecord:
        """Mark `rollback.artifact_id` `flawed` and every artifact downstream of it `tainted`.

        Only status events are written, never a delete or an update. Idempotent: an artifact
        already `flawed` gets no second `flawed` event, and a descendant already `tainted` (or
        itself `flawed`, which says more) gets no `tainted` event, so rolling back twice writes
        nothing the second time.

        Raises:
            DataError: there is no artifact with this id.
        """
        with self._locked(_LOCK) as s:
            return _roll_back(s, rollback)


def _roll_back(s: Session, rollback: Rollback) -> RollbackRecord:
    root = rollback.artifact_id
    if s.get(Artifact, root) is None:
        raise DataError(f"cannot roll back artifact {root}: there is no artifact with this id")
    downstream = _provenance.descendants(s, root)
    statuses = current_statuses(s, [root, *downstream])
    marked = statuses.get(root) != Status.FLAWED
    if marked:
        s.add(ArtifactEvent(artifact_id=root, status=Status.FLAWED,
                            reason=rollback.flawed_reason))
    settled = (Status.TAINTED, Status.FLAWED)
    tainted = [d for d in downstream if statuses.get(d) not in settled]
    for child in tainted:
        s.add(ArtifactEvent(artifact_id=child, status=Status.TAINTED,
                            reason=rollback.tainted_reason))
    s.flush()
    return RollbackRecord(artifact_id=root, marked_flawed=marked, downstream=tuple(downstream),
                          tainted=tuple(tainted))


def _get_request(s: Session, request_id: int) -> ReviewRequest:
    row = s.get(ReviewRequest, request_id)
    if row is None:
        raise DataError(
            f"no review request with id {request_id}; list them with `autoalign review list --all`"
        )
    return row


def _flaw_in_context(s: Session, request: ReviewRequest, flaw_id: int) -> int:
    """The artifact of flaw `flaw_id`, which must lie on the request's artifact or upstream."""
    flaw = s.get(Flaw, flaw_id)
    if flaw is None:
        raise DataError(
            f"no flaw with id {flaw_id}; `autoalign review show {request.id}` lists the flaws "
            "of this request"
        )
    if flaw.artifact_id != request.artifact_id and not _provenance.reaches(
        s, request.artifact_id, flaw.artifact_id, "up"
    ):
        raise DataError(
            f"flaw {flaw_id} is on artifact {flaw.artifact_id}, which is neither review request "
            f"{request.id}'s artifact {request.artifact_id} nor upstream of it; "
            f"`autoalign review show {request.id}` lists the flaws it may name"
        )
    return flaw.artifact_id


def _check_text(field: str, value: str, limit: int) -> None:
    if not (isinstance(value, str) and len(value.strip()) > 0 and len(value) <= limit):
        raise DataError(f"{field} {value!r} must be 1 to {limit} characters, not blank")


def _request(row: ReviewRequest) -> ReviewRequestRecord:
    return ReviewRequestRecord(
        id=row.id,
        artifact_id=row.artifact_id,
        reason=row.reason,
        status=ReviewStatus(row.status),
        resolution=ReviewDecision(row.resolution) if row.resolution else None,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
    )


def _label(row: ReviewLabel) -> ReviewLabelRecord:
    return ReviewLabelRecord(
        id=row.id,
        request_id=row.request_id,
        artifact_id=row.artifact_id,
        flaw_id=row.flaw_id,
        decision=ReviewDecision(row.decision),
        comment=row.comment,
        corrected_severity=row.corrected_severity,
        reviewer=row.reviewer,
        created_at=row.created_at,
    )
