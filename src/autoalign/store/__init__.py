"""The research database: artifacts, provenance, the LLM call ledger, flaws, judgments, claims,
review requests and the labels human reviewers record on them, the red team's experiments
(what they injected, and each critic's trial on each subject), information screens between
projects and the reads they refused, and the work queue that
`autoalign worker` processes share."""

from .._environment import DB_ENV_VAR, DEFAULT_DB_PATH
from ._ab import AB_STATUSES, AbExperimentRecord, AbOutcomeRecord
from ._cases import CaseRegistrationRecord, CaseSnapshotRecord
from ._checks import LearningCheckRecord  # issue 14, part CK
from ._deps import CallWait, ChainNode, CriticalPath, WorkNode
from ._engine import resolve_url
from ._erasures import (  # log erasure (issue 14, part ER)
    ERASED_KEY,
    ErasedMark,
    ErasureBatch,
    ErasureCandidate,
    ErasureRecord,
    ErasureSignals,
    ErasureWrite,
    RefusalWrite,
    content_digest,
    erased_mark,
)
from ._labels import CriticVersionRecord, LabelRecord, NewLabel
from ._organisms import OrganismFlawRecord
from ._queue import MAX_ATTEMPTS, Submission, SubmitOutcome, WorkItemRecord
from ._records import (
    ArtifactRecord,
    ArtifactSummary,
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
    RunSummary,
    ScreenRecord,
    ScreenRefusalRecord,
    UsageTotals,
)
from ._redteam import InjectionRecord, RedteamExperimentRecord, TrialRecord
from ._retrievals import FlawRetrievalRecord, RetrievedFlaw  # the flaw library (part LB)
from ._reviews import REVIEWER_CHARS
from ._runs import LEASE_OWNER_PREFIX, Owner, RunStart, RunStartOutcome
from ._store import Parent, Store

__all__ = [
    "AB_STATUSES",
    "DB_ENV_VAR",
    "DEFAULT_DB_PATH",
    "ERASED_KEY",
    "LEASE_OWNER_PREFIX",
    "MAX_ATTEMPTS",
    "REVIEWER_CHARS",
    "AbExperimentRecord",
    "AbOutcomeRecord",
    "ArtifactRecord",
    "ArtifactSummary",
    "AttemptRecord",
    "AttemptStatus",
    "BudgetCheck",
    "BudgetTotals",
    "CacheRecord",
    "CallRecord",
    "CallWait",
    "CaseRegistrationRecord",
    "CaseSnapshotRecord",
    "ChainNode",
    "ClaimRecord",
    "CriticVersionRecord",
    "CriticalPath",
    "EdgeRecord",
    "ErasedMark",
    "ErasureBatch",
    "ErasureCandidate",
    "ErasureRecord",
    "ErasureSignals",
    "ErasureWrite",
    "EventRecord",
    "FlawRecord",
    "FlawRetrievalRecord",
    "InjectionRecord",
    "JudgmentRecord",
    "LabelRecord",
    "LearningCheckRecord",  # issue 14, part CK
    "NewLabel",
    "OrganismFlawRecord",
    "Owner",
    "Parent",
    "RedteamExperimentRecord",
    "RefusalWrite",
    "Reservation",
    "RetrievedFlaw",
    "ReviewDecisionRecord",
    "ReviewLabelRecord",
    "ReviewRequestRecord",
    "Rollback",
    "RollbackRecord",
    "RunRecord",
    "RunStart",
    "RunStartOutcome",
    "RunSummary",
    "ScreenRecord",
    "ScreenRefusalRecord",
    "Store",
    "Submission",
    "SubmitOutcome",
    "TrialRecord",
    "UsageTotals",
    "WorkItemRecord",
    "WorkNode",
    "content_digest",
    "erased_mark",
    "resolve_url",
]
