"""The research database: artifacts, provenance, the LLM call ledger, flaws, judgments, claims,
review requests and the labels human reviewers record on them, and the work queue that
`autoalign worker` processes share."""

from ._engine import DB_ENV_VAR, DEFAULT_DB_PATH, resolve_url
from ._queue import MAX_ATTEMPTS, Submission, SubmitOutcome, WorkItemRecord
from ._records import (
    ArtifactRecord,
    AttemptRecord,
    AttemptStatus,
    CacheRecord,
    CallRecord,
    ClaimRecord,
    EdgeRecord,
    EventRecord,
    FlawRecord,
    JudgmentRecord,
    ReviewDecisionRecord,
    ReviewLabelRecord,
    ReviewRequestRecord,
    Rollback,
    RollbackRecord,
    RunRecord,
    UsageTotals,
)
from ._reviews import REVIEWER_CHARS
from ._runs import LEASE_OWNER_PREFIX, Owner, RunStart, RunStartOutcome
from ._store import Parent, Store

__all__ = [
    "DB_ENV_VAR",
    "DEFAULT_DB_PATH",
    "LEASE_OWNER_PREFIX",
    "MAX_ATTEMPTS",
    "REVIEWER_CHARS",
    "ArtifactRecord",
    "AttemptRecord",
    "AttemptStatus",
    "CacheRecord",
    "CallRecord",
    "ClaimRecord",
    "EdgeRecord",
    "EventRecord",
    "FlawRecord",
    "JudgmentRecord",
    "Owner",
    "Parent",
    "ReviewDecisionRecord",
    "ReviewLabelRecord",
    "ReviewRequestRecord",
    "Rollback",
    "RollbackRecord",
    "RunRecord",
    "RunStart",
    "RunStartOutcome",
    "Store",
    "Submission",
    "SubmitOutcome",
    "UsageTotals",
    "WorkItemRecord",
    "resolve_url",
]
