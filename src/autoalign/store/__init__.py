"""The research database: artifacts, provenance, the LLM call ledger, flaws, judgments, claims."""

from ._engine import DB_ENV_VAR, DEFAULT_DB_PATH, resolve_url
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
    RunRecord,
    UsageTotals,
)
from ._runs import RunStart, RunStartOutcome
from ._store import Parent, Store

__all__ = [
    "DB_ENV_VAR",
    "DEFAULT_DB_PATH",
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
    "Parent",
    "RunRecord",
    "RunStart",
    "RunStartOutcome",
    "Store",
    "UsageTotals",
    "resolve_url",
]
