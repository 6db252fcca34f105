"""The queue of review requests, most urgent first.

Priority, in this order (each breaks the ties of the one before):

1. the worst severity among the flaws in the request's context (the flaws on its artifact and on
   every artifact upstream of it): `critical` before `major` before `minor` before a request
   with no recorded flaw (a critic that gave no valid critique, a decision against a paper);
2. how many artifacts lie downstream of the artifact: more is more that a confirmed flaw would
   taint;
3. age: the older request first (then the lower id).

Resolved requests (with `--all`) follow the open ones, in the order they were made. Building the
queue asks the store a fixed number of queries, whatever the number of requests: one walk up
from every request's artifact at once (with the flaws met on the way), one walk down, one read
of the labels.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..critics import Severity
from ..store import ArtifactRecord, ReviewRequestRecord, Store
from ..vocabulary import ReviewStatus

SEVERITY_RANK: dict[str, int] = {
    Severity.CRITICAL: 3,
    Severity.MAJOR: 2,
    Severity.MINOR: 1,
}
"""How urgent a flaw of each severity makes a request; an unknown severity ranks 0."""


@dataclass(frozen=True, kw_only=True)
class QueueEntry:
    """One review request as the queue lists it."""

    request: ReviewRequestRecord
    artifact: ArtifactRecord
    """The artifact the request is about (its current status included)."""
    worst_severity: Severity | None
    """The worst severity among the flaws on the artifact and upstream of it; None without."""
    flaws: int
    """How many flaws lie on the artifact and upstream of it."""
    downstream: int
    """How many artifacts were built (transitively) from the artifact."""
    labels: int
    """How many decisions reviewers recorded on it so far (an open one has only `unsure`)."""

    @property
    def sort_key(self) -> tuple[int, int, int, float, int]:
        """Open first; then worst severity, downstream count (both descending), age, id."""
        rank = SEVERITY_RANK.get(self.worst_severity or "", 0)
        resolved = int(self.request.status != ReviewStatus.OPEN)
        if resolved:
            return (1, 0, 0, 0.0, self.request.id)
        return (0, -rank, -self.downstream, self.request.created_at.timestamp(), self.request.id)


def context_ids(store: Store, artifact_id: int) -> list[int]:
    """The artifact and everything upstream of it: where the flaws of its context lie."""
    return [artifact_id, *store.ancestors(artifact_id)]


def worst_severity(severities: list[str]) -> Severity | None:
    """The most severe of `severities` that is a `Severity`, or None."""
    known = [Severity(s) for s in severities if s in SEVERITY_RANK]
    return max(known, key=lambda s: SEVERITY_RANK[s], default=None)


def review_queue(store: Store, *, include_resolved: bool = False) -> list[QueueEntry]:
    """Open review requests, most urgent first (see the module docstring for the order); with
    `include_resolved`, the resolved ones after them."""
    requests = store.review_requests(
        status=None if include_resolved else ReviewStatus.OPEN
    )
    ids = sorted({r.artifact_id for r in requests})
    artifacts = {a.id: a for a in store.artifacts(ids=ids)}
    severities = store.context_severities(ids)  # one walk up and one down for all requests
    downstream = store.count_descendants_of(ids)
    labels = Counter(label.request_id for label in store.review_labels())
    entries = [
        QueueEntry(
            request=request,
            artifact=artifacts[request.artifact_id],
            worst_severity=worst_severity(severities[request.artifact_id]),
            flaws=len(severities[request.artifact_id]),
            downstream=downstream[request.artifact_id],
            labels=labels[request.id],
        )
        for request in requests
    ]
    return sorted(entries, key=lambda e: e.sort_key)
