"""The research database: artifacts, provenance, the LLM call ledger, flaws, judgments, claims,
review requests and the labels human reviewers record on them."""

from .._environment import DB_ENV_VAR, DEFAULT_DB_PATH
from ._deps import CallWait, ChainNode, CriticalPath, WorkNode
from ._engine import resolve_url
from ._records import (
    ArtifactRecord,
    AttemptRecord,
    AttemptStatus,
    BudgetCheck,
    BudgetTotals,
    CacheRecord,
    CallRecord,
    ClaimRecord,
    EdgeRecord,
    EventRecord,
    FlawRecord,
    JudgmentRecord,
    Reservation,
    ReviewDecisionRecord,
    ReviewLabelRecord,
    ReviewRequestRecord,
    Rollback,
    RollbackRecord,
    RunRecord,
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
    "AttemptRecord",
    "AttemptStatus",
    "BudgetCheck",
    "BudgetTotals",
    "CacheRecord",
    "CallRecord",
    "CallWait",
    "ChainNode",
    "ClaimRecord",
    "CriticalPath",
    "EdgeRecord",
    "EventRecord",
    "FlawRecord",
    "JudgmentRecord",
    "Parent",
    "Reservation",
    "ReviewDecisionRecord",
    "ReviewLabelRecord",
    "ReviewRequestRecord",
    "Rollback",
    "RollbackRecord",
    "RunRecord",
    "RunStart",
    "RunStartOutcome",
    "Store",
    "UsageTotals",
    "WorkNode",
    "resolve_url",
]
