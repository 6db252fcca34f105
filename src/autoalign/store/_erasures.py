"""Progressive log erasure in the database: the candidates a policy weighs (with their content's
digest and size), the signals of its score (descendants, accepted papers downstream, flaws,
reviews, judge disagreement), and the erasure itself.

An erasure replaces an artifact's `content_text`, `content_json` and `preview` by a record of
the erasure (`content_json = {"erased": {...}, "summary": {...}}`) and adds an `erasures` row,
in one transaction per batch under a lock every process takes: a killed run leaves each artifact
either erased with its row or untouched. The artifact's row otherwise stays as it was (id, kind,
stage, run, status events, provenance edges), so every provenance walk still resolves. What the
summary keeps, and which artifacts may be erased, is decided above the store
(`autoalign.learning`); the store only checks, in the transaction, that the content is still the
one the plan digested, that it was not erased already and that its run has completed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import DataError
from ..vocabulary import ErasureOutcome, ErasureRefusal, RunStatus
from ._provenance import _CHUNK, walk_many_query
from ._schema import (
    PREVIEW_CHARS,
    Artifact,
    Claim,
    Erasure,
    Flaw,
    Judgment,
    ReviewRequest,
    Run,
    utcnow,
)
from ._session import StoreBase
from ._status import current_statuses

ERASED_KEY = "erased"
"""The key of an erased artifact's `content_json` that holds the record of its erasure."""

_LOCK = "erasure"
"""Name of the cross-process lock around every erasure write."""


def content_digest(content_text: str, content_json: Any) -> tuple[str, int]:
    """sha256 (hex) and size in bytes of an artifact's content: its text, then its JSON in a
    canonical form (sorted keys, no spaces), both UTF-8. The size is what an erasure frees."""
    body = content_text.encode("utf-8") + json.dumps(
        content_json, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")
    return hashlib.sha256(body).hexdigest(), len(body)


@dataclass(frozen=True, kw_only=True)
class ErasedMark:
    """What an erased artifact's content says about its erasure."""

    erased_at: str
    """When, as an ISO 8601 UTC time."""
    policy: str
    """The policy's name."""
    policy_digest: str
    """sha256 of the policy's normalised settings."""
    original_sha256: str
    """sha256 of the content before erasure (`content_digest`)."""
    original_bytes: int
    """Its size in bytes."""
    summary: dict[str, Any]
    """What was kept from it (depends on the kind; `docs/learning.md`)."""


def erased_mark(content_json: Any) -> ErasedMark | None:
    """The erasure record of an artifact's `content_json`, or None when it was not erased."""
    if not isinstance(content_json, dict) or not isinstance(content_json.get(ERASED_KEY), dict):
        return None
    mark = content_json[ERASED_KEY]
    summary = content_json.get("summary")
    return ErasedMark(
        erased_at=str(mark.get("at", "")), policy=str(mark.get("policy", "")),
        policy_digest=str(mark.get("policy_digest", "")),
        original_sha256=str(mark.get("sha256", "")),
        original_bytes=int(mark.get("bytes", 0) or 0),
        summary=summary if isinstance(summary, dict) else {},
    )


@dataclass(frozen=True, kw_only=True)
class ErasureCandidate:
    """An artifact of a kind a policy may erase, as the plan weighs it."""

    id: int
    run_id: int | None
    kind: str
    created_at: datetime
    run_status: str | None
    """Its run's status (None for an artifact of no run)."""
    sha256: str
    """Digest of its current content (`content_digest`)."""
    size: int
    """Bytes of its current content."""
    erased: ErasedMark | None
    """Its erasure, if it was erased already."""
    content_text: str = field(repr=False)
    content_json: Any = field(repr=False)

    @property
    def original_bytes(self) -> int:
        """Its size before any erasure."""
        return self.erased.original_bytes if self.erased is not None else self.size


@dataclass(frozen=True, kw_only=True)
class ErasureSignals:
    """What the score of one candidate is made of, counted in the database."""

    descendants: int = 0
    """Artifacts built from it, transitively."""
    accepted_downstream: int = 0
    """Accepted papers among them."""
    flaws: int = 0
    """Flaws recorded on it or on its descendants."""
    reviews: int = 0
    """Review requests, open or resolved, on it or on its descendants."""
    disagreement: float = 0.0
    """Judge disagreement on it: the range of its judgments' scores plus the number of distinct
    decisions beyond the first."""


@dataclass(frozen=True, kw_only=True)
class ErasureWrite:
    """One erasure to make: the content that replaces an artifact's."""

    artifact_id: int
    expected_sha256: str
    """The digest of the content the plan summarised; a different content is not erased."""
    content_text: str
    content_json: dict[str, Any]
    score: float
    detail: str
    """One line for the `erasures` row (kind and summary)."""
    erased_at: datetime | None = None
    """The time the new content states (the row's `created_at`); default: now."""


@dataclass(frozen=True, kw_only=True)
class RefusalWrite:
    """One refusal to record."""

    artifact_id: int
    reason: ErasureRefusal
    detail: str
    score: float | None = None


@dataclass(frozen=True, kw_only=True)
class ErasureRecord:
    """A row of `erasures`."""

    id: int
    artifact_id: int
    outcome: str
    policy: str
    policy_digest: str
    score: float | None
    reason: str | None
    detail: str
    original_sha256: str | None
    original_bytes: int | None
    bytes_freed: int | None
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class ErasureBatch:
    """What one batch wrote."""

    erased: list[ErasureRecord]
    refused: list[ErasureRecord]
    skipped: list[int]
    """Erasures not made: erased already, content changed since the plan, or the run is no
    longer completed (recorded as a refusal then)."""


def _record(row: Erasure) -> ErasureRecord:
    return ErasureRecord(
        id=row.id, artifact_id=row.artifact_id, outcome=row.outcome, policy=row.policy,
        policy_digest=row.policy_digest, score=row.score, reason=row.reason, detail=row.detail,
        original_sha256=row.original_sha256, original_bytes=row.original_bytes,
        bytes_freed=row.bytes_freed, created_at=row.created_at,
    )


def _refusal_exists(s: Session, artifact_id: int, digest: str, reason: str) -> bool:
    return s.scalar(
        select(Erasure.id).where(
            Erasure.artifact_id == artifact_id, Erasure.outcome == ErasureOutcome.REFUSED,
            Erasure.policy_digest == digest, Erasure.reason == reason,
        ).limit(1)
    ) is not None


class ErasuresMixin(StoreBase):
    """Log erasure: candidates, score signals, erasing, and the `erasures` records."""

    def erasure_candidates(self, kinds: Sequence[str]) -> list[ErasureCandidate]:
        """Every artifact of `kinds`, oldest first, with its run's status and its content's
        digest and size (the content is read in batches)."""
        query = (
            select(Artifact.id, Artifact.run_id, Artifact.kind, Artifact.created_at,
                   Artifact.content_text, Artifact.content_json, Run.status)
            .outerjoin(Run, Run.id == Artifact.run_id)
            .where(Artifact.kind.in_(list(kinds)))
            .order_by(Artifact.id)
        )
        out: list[ErasureCandidate] = []
        with self._read() as s:
            for r in s.execute(query, execution_options={"yield_per": 500}):
                text = r.content_text or ""
                sha, size = content_digest(text, r.content_json)
                out.append(ErasureCandidate(
                    id=r.id, run_id=r.run_id, kind=r.kind, created_at=r.created_at,
                    run_status=r.status, sha256=sha, size=size,
                    erased=erased_mark(r.content_json), content_text=text,
                    content_json=r.content_json,
                ))
        return out

    def erasure_signals(
        self, ids: Sequence[int], *, accepted_papers: Sequence[int]
    ) -> dict[int, ErasureSignals]:
        """The score signals of each id (`ErasureSignals`), in a few queries per 500 ids;
        `accepted_papers` are the ids of the papers whose status is `accepted`."""
        accepted = set(accepted_papers)
        counts: dict[int, dict[str, int]] = {
            i: {"descendants": 0, "accepted": 0, "flaws": 0, "reviews": 0} for i in ids
        }
        scores: dict[int, list[float]] = {i: [] for i in ids}
        decisions: dict[int, set[str]] = {i: set() for i in ids}
        with self._read() as s:
            conn = s.connection()
            for start in range(0, len(ids), _CHUNK):
                chunk = list(ids[start:start + _CHUNK])
                reached = walk_many_query(chunk, "down")
                below = reached.c.id != reached.c.root
                for root, n in conn.execute(
                    select(reached.c.root, func.count()).where(below).group_by(reached.c.root)
                ):
                    counts[root]["descendants"] = int(n)
                for root, paper in conn.execute(
                    select(reached.c.root, reached.c.id)
                    .join(Artifact, Artifact.id == reached.c.id)
                    .where(below, Artifact.kind == "paper")
                ):
                    counts[root]["accepted"] += paper in accepted
                for table, key in ((Flaw, "flaws"), (ReviewRequest, "reviews")):
                    downstream = select(reached.c.root, func.count()).join(
                        table, table.artifact_id == reached.c.id
                    ).where(below).group_by(reached.c.root)
                    own = select(table.artifact_id, func.count()).where(
                        table.artifact_id.in_(chunk)
                    ).group_by(table.artifact_id)
                    for query in (downstream, own):
                        for root, n in conn.execute(query):
                            counts[root][key] += int(n)
                for artifact_id, score, decision in conn.execute(
                    select(Judgment.artifact_id, Judgment.score, Judgment.decision)
                    .where(Judgment.artifact_id.in_(chunk))
                ):
                    if score is not None:
                        scores[artifact_id].append(float(score))
                    if decision is not None:
                        decisions[artifact_id].add(str(decision))
        return {
            i: ErasureSignals(
                descendants=c["descendants"], accepted_downstream=c["accepted"],
                flaws=c["flaws"], reviews=c["reviews"],
                disagreement=(max(scores[i]) - min(scores[i]) if scores[i] else 0.0)
                + max(len(decisions[i]) - 1, 0),
            )
            for i, c in counts.items()
        }

    def with_claims(self, ids: Sequence[int]) -> set[int]:
        """The ids among `ids` that state at least one claim (one query per 500 ids)."""
        found: set[int] = set()
        with self._read() as s:
            for start in range(0, len(ids), _CHUNK):
                found.update(s.scalars(select(Claim.artifact_id).distinct().where(
                    Claim.artifact_id.in_(list(ids[start:start + _CHUNK])))))
        return found

    def accepted_papers(self) -> list[int]:
        """Ids of the papers whose current status is `accepted`."""
        with self._read() as s:
            ids = list(s.scalars(select(Artifact.id).where(Artifact.kind == "paper")))
            statuses = current_statuses(s, ids)
        return [i for i in ids if statuses.get(i) == "accepted"]

    def erase_artifacts(
        self,
        *,
        policy: str,
        policy_digest: str,
        erasures: Sequence[ErasureWrite] = (),
        refusals: Sequence[RefusalWrite] = (),
    ) -> ErasureBatch:
        """Erase and refuse, in one transaction under the erasure lock.

        Each erasure replaces the artifact's content by the one given and adds an `erased`
        row, unless the artifact was erased already, its content no longer has the digest the
        plan summarised, or its run is not `completed` any more (then a `run_not_finished`
        refusal is recorded instead); those are skipped. A refusal already recorded for the
        same artifact, policy digest and reason is not recorded again, so re-applying a policy
        writes nothing new.

        Raises:
            DataError: an artifact does not exist.
        """
        erased: list[ErasureRecord] = []
        refused: list[ErasureRecord] = []
        skipped: list[int] = []
        with self._locked(_LOCK) as s:
            now = utcnow()

            def refuse(artifact_id: int, reason: str, detail: str, score: float | None) -> None:
                if _refusal_exists(s, artifact_id, policy_digest, reason):
                    return
                row = Erasure(artifact_id=artifact_id, outcome=ErasureOutcome.REFUSED,
                              policy=policy, policy_digest=policy_digest, score=score,
                              reason=reason, detail=detail, created_at=now)
                s.add(row)
                s.flush()
                refused.append(_record(row))

            for write in erasures:
                art = s.get(Artifact, write.artifact_id)
                if art is None:
                    raise DataError(f"no artifact with id {write.artifact_id} to erase")
                run_status = s.scalar(select(Run.status).where(Run.id == art.run_id)) \
                    if art.run_id is not None else None
                if run_status not in (None, RunStatus.COMPLETED):
                    skipped.append(art.id)
                    refuse(art.id, ErasureRefusal.RUN_NOT_FINISHED,
                           f"run {art.run_id} is {run_status}", write.score)
                    continue
                sha, size = content_digest(art.content_text or "", art.content_json)
                if erased_mark(art.content_json) is not None or sha != write.expected_sha256:
                    skipped.append(art.id)
                    continue
                _, new_size = content_digest(write.content_text, write.content_json)
                art.content_text = write.content_text
                art.content_json = write.content_json
                art.preview = write.content_text[:PREVIEW_CHARS]
                row = Erasure(
                    artifact_id=art.id, outcome=ErasureOutcome.ERASED, policy=policy,
                    policy_digest=policy_digest, score=write.score, reason=None,
                    detail=write.detail, original_sha256=sha, original_bytes=size,
                    bytes_freed=size - new_size, created_at=write.erased_at or now,
                )
                s.add(row)
                s.flush()
                erased.append(_record(row))
            for refusal in refusals:
                refuse(refusal.artifact_id, refusal.reason, refusal.detail, refusal.score)
        return ErasureBatch(erased=erased, refused=refused, skipped=skipped)

    def erasures(
        self, *, artifact_id: int | None = None, outcome: ErasureOutcome | None = None
    ) -> list[ErasureRecord]:
        """Rows of `erasures` in the order they were written, matching every filter given."""
        query = select(Erasure).order_by(Erasure.id)
        if artifact_id is not None:
            query = query.where(Erasure.artifact_id == artifact_id)
        if outcome is not None:
            query = query.where(Erasure.outcome == outcome)
        with self._read() as s:
            return [_record(r) for r in s.scalars(query)]

    def erasure_of(self, artifact_id: int) -> ErasureRecord | None:
        """The erasure of `artifact_id`, or None when it was not erased."""
        found = self.erasures(artifact_id=artifact_id, outcome=ErasureOutcome.ERASED)
        return found[0] if found else None


__all__ = [
    "ERASED_KEY",
    "ErasedMark",
    "ErasureBatch",
    "ErasureCandidate",
    "ErasureRecord",
    "ErasureSignals",
    "ErasureWrite",
    "ErasuresMixin",
    "RefusalWrite",
    "content_digest",
    "erased_mark",
]
