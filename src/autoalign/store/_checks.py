"""Expensive checks in the database (issue 14, part CK): every decision about a retroactive
deeper review of a load-bearing paper or a confused critic routed to a human is a
`learning_checks` row (rows are only ever added), and the descendant counts that make a paper
load-bearing."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import DataError
from ..vocabulary import CheckKind, CheckOutcome, CheckTrigger, ReviewStatus
from ._provenance import walk_many_query
from ._schema import Artifact, LearningCheck, ReviewRequest
from ._session import StoreBase

_LOCK = "learning-checks"
"""Name of the cross-process lock around the decisions that must not be made twice."""

_CHUNK = 500
"""Roots per descendant-count query (SQLite bounds a statement's parameters)."""


@dataclass(frozen=True, kw_only=True)
class LearningCheckRecord:
    """One decision about an expensive check (see `LearningCheck` in the schema)."""

    id: int
    kind: CheckKind
    paper_id: int
    trigger: CheckTrigger
    descendants: int | None
    case_name: str | None
    metric: str | None
    outcome: CheckOutcome
    request_artifact_id: int | None
    """The `rereview_request` a scheduled deep review created."""
    review_request_id: int | None
    """The human review request opened (or already open)."""
    report_id: int | None
    """The confused critic-2 report (human escalations)."""
    run_id: int | None
    reason: str
    created_at: datetime


def _record(row: LearningCheck) -> LearningCheckRecord:
    return LearningCheckRecord(
        id=row.id, kind=CheckKind(row.kind), paper_id=row.paper_id,
        trigger=CheckTrigger(row.trigger), descendants=row.descendants,
        case_name=row.case_name, metric=row.metric, outcome=CheckOutcome(row.outcome),
        request_artifact_id=row.request_artifact_id, review_request_id=row.review_request_id,
        report_id=row.report_id, run_id=row.run_id, reason=row.reason,
        created_at=row.created_at,
    )


def _check_paper(s: Session, paper_id: int) -> None:
    if s.get(Artifact, paper_id) is None:
        raise DataError(f"learning check on paper {paper_id}: there is no artifact with this id")


class ChecksMixin(StoreBase):
    """Decisions about expensive checks (`learning_checks`)."""

    def learning_checks(
        self,
        *,
        kind: CheckKind | None = None,
        paper_id: int | None = None,
        run_id: int | None = None,
        outcome: CheckOutcome | None = None,
    ) -> list[LearningCheckRecord]:
        """Decisions in the order they were made, matching every filter given."""
        query = select(LearningCheck).order_by(LearningCheck.id)
        if kind is not None:
            query = query.where(LearningCheck.kind == kind)
        if paper_id is not None:
            query = query.where(LearningCheck.paper_id == paper_id)
        if run_id is not None:
            query = query.where(LearningCheck.run_id == run_id)
        if outcome is not None:
            query = query.where(LearningCheck.outcome == outcome)
        with self._read() as s:
            return [_record(r) for r in s.scalars(query)]

    def add_learning_check(
        self,
        *,
        kind: CheckKind,
        paper_id: int,
        trigger: CheckTrigger,
        outcome: CheckOutcome,
        reason: str,
        descendants: int | None = None,
        case_name: str | None = None,
        metric: str | None = None,
        request_artifact_id: int | None = None,
        review_request_id: int | None = None,
        run_id: int | None = None,
    ) -> LearningCheckRecord:
        """Record one decision as it is (no check against earlier ones; see
        `schedule_deep_review` and `escalate_confused` for the decisions made once).

        Raises:
            DataError: the paper does not exist.
        """
        with self._write() as s:
            _check_paper(s, paper_id)
            row = LearningCheck(
                kind=kind, paper_id=paper_id, trigger=trigger, outcome=outcome, reason=reason,
                descendants=descendants, case_name=case_name, metric=metric,
                request_artifact_id=request_artifact_id, review_request_id=review_request_id,
                run_id=run_id,
            )
            s.add(row)
            s.flush()
            return _record(row)

    def schedule_deep_review(
        self,
        *,
        paper_id: int,
        trigger: CheckTrigger,
        request_artifact_id: int,
        reason: str,
        descendants: int | None = None,
        case_name: str | None = None,
        metric: str | None = None,
        run_id: int | None = None,
    ) -> tuple[LearningCheckRecord, bool]:
        """Record that a deeper review of `paper_id` was scheduled, once per paper: with the
        new row and True, or the paper's earlier `scheduled` row and False (two passes at
        once schedule it once).

        Raises:
            DataError: the paper does not exist.
        """
        with self._locked(_LOCK) as s:
            _check_paper(s, paper_id)
            earlier = s.scalars(select(LearningCheck).where(
                LearningCheck.kind == CheckKind.DEEP_REVIEW,
                LearningCheck.paper_id == paper_id,
                LearningCheck.outcome == CheckOutcome.SCHEDULED,
            ).order_by(LearningCheck.id)).first()
            if earlier is not None:
                return _record(earlier), False
            row = LearningCheck(
                kind=CheckKind.DEEP_REVIEW, paper_id=paper_id, trigger=trigger,
                outcome=CheckOutcome.SCHEDULED, reason=reason, descendants=descendants,
                case_name=case_name, metric=metric, request_artifact_id=request_artifact_id,
                run_id=run_id,
            )
            s.add(row)
            s.flush()
            return _record(row), True

    def escalate_confused(
        self,
        *,
        run_id: int,
        paper_id: int,
        report_id: int,
        trigger: CheckTrigger,
        reason: str,
        budget: int,
    ) -> LearningCheckRecord:
        """Decide, once per critic-2 report, whether a confused critic's paper goes to a
        human: `already_open` when a review request is open on the paper, `skipped_budget`
        when the run has already made `budget` such escalations, else `escalated` with a new
        review request carrying `reason` (asking again for the same reason keeps one request,
        as `add_review_request` does). A report decided before keeps its decision (a resumed
        step decides nothing anew).

        Raises:
            DataError: the paper or report does not exist, or `budget` is negative.
        """
        if budget < 0:
            raise DataError(f"human escalation budget must be 0 or more, got {budget}")
        with self._locked(_LOCK) as s:
            _check_paper(s, paper_id)
            if s.get(Artifact, report_id) is None:
                raise DataError(f"critic-2 report {report_id}: there is no artifact with this id")
            earlier = s.scalars(
                select(LearningCheck).where(LearningCheck.report_id == report_id)
            ).first()
            if earlier is not None:
                return _record(earlier)
            request_id: int | None = s.scalars(select(ReviewRequest.id).where(
                ReviewRequest.artifact_id == paper_id,
                ReviewRequest.status == ReviewStatus.OPEN,
            ).order_by(ReviewRequest.id)).first()
            if request_id is not None:
                outcome = CheckOutcome.ALREADY_OPEN
            else:
                spent = s.scalar(select(func.count(LearningCheck.id)).where(
                    LearningCheck.kind == CheckKind.HUMAN_ESCALATION,
                    LearningCheck.run_id == run_id,
                    LearningCheck.outcome == CheckOutcome.ESCALATED,
                )) or 0
                if spent >= budget:
                    outcome = CheckOutcome.SKIPPED_BUDGET
                else:
                    outcome = CheckOutcome.ESCALATED
                    request_id = s.scalars(select(ReviewRequest.id).where(
                        ReviewRequest.artifact_id == paper_id, ReviewRequest.reason == reason,
                    )).first()
                    if request_id is None:
                        request = ReviewRequest(artifact_id=paper_id, reason=reason)
                        s.add(request)
                        s.flush()
                        request_id = request.id
            row = LearningCheck(
                kind=CheckKind.HUMAN_ESCALATION, paper_id=paper_id, trigger=trigger,
                outcome=outcome, reason=reason, review_request_id=request_id,
                report_id=report_id, run_id=run_id,
            )
            s.add(row)
            s.flush()
            return _record(row)

    def count_descendants_except(
        self, roots: Sequence[int], *, kinds: Collection[str]
    ) -> dict[int, int]:
        """For each id in `roots`, how many artifacts were built from it (transitively, not
        itself) that are not of one of `kinds`; the walk still goes through those. One query
        per 500 roots; an id with none maps to 0."""
        counts = dict.fromkeys(roots, 0)
        excluded = sorted(set(kinds))
        with self._read() as s:
            for i in range(0, len(roots), _CHUNK):
                reached = walk_many_query(roots[i:i + _CHUNK], "down")
                query = (
                    select(reached.c.root, func.count())
                    .join(Artifact, Artifact.id == reached.c.id)
                    .where(reached.c.id != reached.c.root)
                    .group_by(reached.c.root)
                )
                if excluded:
                    query = query.where(Artifact.kind.not_in(excluded))
                counts.update(s.connection().execute(query).all())
        return counts


__all__ = ["ChecksMixin", "LearningCheckRecord"]
