"""The research database: artifacts, provenance, the LLM call ledger, flaws, judgments, claims,
review requests and the labels human reviewers record on them."""

from ._engine import DB_ENV_VAR, DEFAULT_DB_PATH, resolve_url
from ._records import (
    ArtifactRecord,
    ArtifactSummary,
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
    RunSummary,
    UsageTotals,
)
from ._reviews import REVIEWER_CHARS
from ._runs import RunStart, RunStartOutcome
from ._store import Parent, Store

__all__ = [
    "DB_ENV_VAR",
    "DEFAULT_DB_PATH",
    "REVIEWER_CHARS",
    "ArtifactRecord",
    "ArtifactSummary",
    "AttemptRecord",
    "AttemptStatus",
    "CacheRecord",
    "CallRecord",
    "ClaimRecord",
    "EdgeRecord",
    "EventRecord",
    "FlawRecord",
    "JudgmentRecord",
    "Parent",
    "ReviewDecisionRecord",
    "ReviewLabelRecord",
    "ReviewRequestRecord",
    "Rollback",
    "RollbackRecord",
    "RunRecord",
    "RunStart",
    "RunStartOutcome",
    "RunSummary",
    "Store",
    "UsageTotals",
    "resolve_url",
]
