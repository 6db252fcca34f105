"""Everything a reviewer needs to decide one request, read from the store."""

from __future__ import annotations

from dataclasses import dataclass

from ..store import (
    ArtifactRecord,
    EdgeRecord,
    FlawRecord,
    JudgmentRecord,
    ReviewLabelRecord,
    ReviewRequestRecord,
    Store,
)
from ..vocabulary import Kind
from ._queue import SEVERITY_RANK, context_ids

LOG_KINDS = frozenset({Kind.RESEARCH_LOG, Kind.STEP_LOG})
"""Kinds that hold logs: what the numbers of a paper or a step come from."""


@dataclass(frozen=True, kw_only=True)
class Ancestor:
    """An artifact upstream of the request's, with the edges to what it was made from."""

    artifact: ArtifactRecord
    parents: tuple[EdgeRecord, ...]
    """Its direct provenance edges; empty for a root."""

    @property
    def is_root(self) -> bool:
        """Whether it was made from nothing stored (a topic, a study's run)."""
        return not self.parents


@dataclass(frozen=True, kw_only=True)
class RequestContext:
    """One review request with its full context."""

    request: ReviewRequestRecord
    artifact: ArtifactRecord
    """The artifact under review, with its current status."""
    parents: tuple[EdgeRecord, ...]
    """What the artifact was made from, directly."""
    flaws: tuple[FlawRecord, ...]
    """Flaws on the artifact and on everything upstream of it, worst severity first; each names
    its artifact, and the critic (id, version) that found it when one did."""
    judgments: tuple[JudgmentRecord, ...]
    """Verdicts on the artifact (a critic's decision and its reasoning)."""
    ancestors: tuple[Ancestor, ...]
    """The provenance chain up to the roots, ascending ids."""
    downstream: tuple[int, ...]
    """Ids of every artifact built (transitively) from the artifact: what a confirm taints."""
    logs: tuple[int, ...]
    """Ids of the research and step logs upstream (or the artifact itself, if it is one)."""
    sandbox_runs: tuple[int, ...]
    """Ids of the sandbox runs upstream (or the artifact itself)."""
    labels: tuple[ReviewLabelRecord, ...]
    """Decisions recorded on the request so far."""


def request_context(store: Store, request_id: int) -> RequestContext:
    """Read review request `request_id` and its context.

    Raises:
        DataError: there is no request with this id.
    """
    request = store.review_request(request_id)
    artifact = store.artifact(request.artifact_id)
    ids = context_ids(store, artifact.id)
    upstream = store.artifacts(ids=ids[1:])
    flaws = sorted(
        store.flaws(artifact_ids=ids), key=lambda f: (-SEVERITY_RANK.get(f.severity, 0), f.id)
    )
    chain = [artifact, *upstream]
    return RequestContext(
        request=request,
        artifact=artifact,
        parents=tuple(store.parents(artifact.id)),
        flaws=tuple(flaws),
        judgments=tuple(store.judgments(artifact_id=artifact.id)),
        ancestors=tuple(Ancestor(artifact=a, parents=tuple(store.parents(a.id)))
                        for a in upstream),
        downstream=tuple(store.descendants(artifact.id)),
        logs=tuple(a.id for a in chain if a.kind in LOG_KINDS),
        sandbox_runs=tuple(a.id for a in chain if a.kind == Kind.SANDBOX_RUN),
        labels=tuple(store.review_labels(request_id=request.id)),
    )
