"""Plain, frozen records the store hands out, detached from any database session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..vocabulary import ClaimSource, ReviewDecision, ReviewStatus


class AttemptStatus(StrEnum):
    """Where one request sent to a provider stands (`llm_attempts.status`)."""

    PENDING = "pending"
    """Written before the request was sent; no outcome recorded yet (in flight, or its process
    died). Counts against the budget at its estimate."""
    ANSWERED = "answered"
    """A response came back; its tokens are on the ask's ledger row."""
    FAILED = "failed"
    """The provider refused it (an HTTP error status) or sent back a garbled response."""
    LOST = "lost"
    """Sent, then timed out, cut off or cancelled: the provider may have billed it, so it counts
    against the budget at its estimate."""

    @property
    def may_be_billed_unseen(self) -> bool:
        """Whether the provider may have billed tokens that no ledger row holds."""
        return self in (AttemptStatus.PENDING, AttemptStatus.LOST)


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """A run of an agenda."""

    id: int
    name: str
    agenda_digest: str
    config: dict[str, Any]
    seed: int
    status: str
    stop_reason: str | None
    owner: str | None
    """"host:pid" of the process executing the run, if one is."""
    budget_tokens: int | None
    budget_usd: float | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class ArtifactRecord:
    """An artifact with its current status (the latest event's)."""

    id: int
    run_id: int | None
    kind: str
    stage: str
    role: str | None
    model: str | None
    prompt_digest: str | None
    step_key: str | None
    title: str | None
    content_text: str
    content_json: Any
    status: str
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    """What a listing shows of a run: no agenda (`RunRecord.config`) is read."""

    id: int
    name: str
    status: str
    seed: int
    stop_reason: str | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class ArtifactSummary:
    """What a listing shows of an artifact: its metadata and a preview, never its content."""

    id: int
    run_id: int | None
    kind: str
    stage: str
    role: str | None
    model: str | None
    step_key: str | None
    title: str | None
    preview: str
    """The first characters of the artifact's text (empty for a row stored without one)."""
    status: str
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class EventRecord:
    """One status change of an artifact."""

    artifact_id: int
    status: str
    reason: str | None
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class EdgeRecord:
    """A provenance edge: `child_id` was made from (or saw) `parent_id`."""

    child_id: int
    parent_id: int
    relation: str


@dataclass(frozen=True, kw_only=True)
class CallRecord:
    """One row of the LLM call ledger."""

    id: int
    run_id: int | None
    role: str
    model: str
    step_key: str | None
    input_tokens: int
    output_tokens: int
    latency_s: float
    cost_usd: float | None
    cache_hit: bool
    attempts: int
    error: str | None


@dataclass(frozen=True, kw_only=True)
class CacheRecord:
    """A cached model answer."""

    key: str
    model: str
    raw: str
    request: Any = None
    """What was asked (instructions, prompt, sampling, seed), kept for audit."""
    output: Any
    error: str | None
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, kw_only=True)
class UsageTotals:
    """Ledger totals of one run."""

    calls: int
    """Ledger rows, cache hits included."""
    cache_hits: int
    errors: int
    input_tokens: int
    """Tokens of calls that went to a provider (cache hits cost nothing and count zero)."""
    output_tokens: int
    cost_usd: float
    """Sum over calls with a known price."""
    unpriced_calls: int
    """Provider calls whose price is unknown, so `cost_usd` leaves them out."""
    latency_s: float
    unfinished_calls: int = 0
    """Requests sent whose outcome was never recorded (`pending` attempts): in flight, or their
    process was killed."""
    unseen_tokens: int = 0
    """Estimated tokens of requests that may have been billed without a known outcome
    (`pending` and `lost` attempts); the budget counts them on top of the ledger's tokens."""
    unseen_usd: float = 0.0
    """Estimated USD of those requests (priced models only)."""


@dataclass(frozen=True)
class Reservation:
    """What one ask may spend, held against a run's budget from its check until it is booked."""

    tokens: int
    """Estimated input + output tokens."""
    usd: float
    """Estimated USD (0.0 for an unpriced model)."""


@dataclass(frozen=True, kw_only=True)
class BudgetTotals:
    """A run's running totals (`run_budgets`): what the budget check compares with the limits."""

    spent_tokens: int
    """Tokens of ledger rows that went to a provider."""
    spent_usd: float
    """USD of those rows (priced models only)."""
    unseen_tokens: int
    """Estimated tokens of `pending`/`lost` attempts no live reservation covers."""
    unseen_usd: float
    """Estimated USD of those attempts."""
    reserved_tokens: int
    """Estimated tokens of asks past their budget check and not yet booked."""
    reserved_usd: float
    """Estimated USD of those asks."""

    @property
    def used_tokens(self) -> int:
        """Tokens used or in flight: spent + unseen + reserved."""
        return self.spent_tokens + self.unseen_tokens + self.reserved_tokens

    @property
    def used_usd(self) -> float:
        """USD used or in flight: spent + unseen + reserved."""
        return self.spent_usd + self.unseen_usd + self.reserved_usd


@dataclass(frozen=True, kw_only=True)
class BudgetCheck:
    """The answer to `Store.reserve_budget`: whether the reservation was taken, and the totals
    it was checked against (before it, when refused; after it, when granted)."""

    granted: bool
    """Whether the ask's reservation now counts against the run's budget."""
    totals: BudgetTotals
    """The run's totals as the check saw them."""


@dataclass(frozen=True, kw_only=True)
class AttemptRecord:
    """One request sent to a provider (a row of `llm_attempts`)."""

    id: int
    run_id: int | None
    call_id: int | None
    """The ledger row of the ask it belonged to, once that ask finished."""
    role: str
    model: str
    step_key: str | None
    cache_key: str | None
    status: AttemptStatus
    est_tokens: int
    est_cost_usd: float | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class FlawRecord:
    """A flaw found in an artifact."""

    id: int
    artifact_id: int
    found_by_id: int | None
    category: str
    severity: str
    description: str
    critic: str | None = None
    """Id of the registered critic that found it, if one did."""
    critic_version: str | None = None
    """That critic's version when it found the flaw."""


@dataclass(frozen=True, kw_only=True)
class JudgmentRecord:
    """A verdict on an artifact."""

    id: int
    artifact_id: int
    judge_artifact_id: int | None
    role: str
    score: float | None
    decision: str | None
    rationale: str
    model: str | None = None
    """The judge's `provider:model` (None for a human)."""
    other_artifact_id: int | None = None
    """A pairwise judgment's second item (`artifact_id` was shown first)."""
    source: str = "model"
    """`model` or `human`."""
    reviewer: str | None = None
    """A human judge's name."""
    created_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ClaimRecord:
    """A claim with its estimate, interval and probability where known."""

    id: int
    artifact_id: int
    text: str
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    probability: float | None
    """For a claim linked to a question: probability that its answer is "yes" as stated."""
    source: ClaimSource
    """Who produced the probability: `study` (a formula) or `pipeline` (an agent)."""
    model: str | None
    """The model of the claim's artifact (`provider:model`, the agent that stated the claim), read
    from the artifact; None when it has none, as for every study claim."""
    testbed: str | None = None
    """The testbed the claim is about, if it answers a testbed question."""
    question_id: str | None = None
    """The testbed question the claim answers; set exactly when `testbed` is."""


@dataclass(frozen=True, kw_only=True)
class ReviewRequestRecord:
    """An escalation of an artifact to a human reviewer."""

    id: int
    artifact_id: int
    reason: str
    status: ReviewStatus
    resolution: ReviewDecision | None
    """The decision that resolved it (`confirm` wins over `dismiss`); None while open."""
    created_at: datetime
    resolved_at: datetime | None
    """When the label that set `resolution` was recorded."""


@dataclass(frozen=True, kw_only=True)
class ReviewLabelRecord:
    """One human decision on a review request (a row of `review_labels`)."""

    id: int
    request_id: int
    artifact_id: int
    """The artifact decided on: the flaw's when a flaw is named, else the request's."""
    flaw_id: int | None
    decision: ReviewDecision
    comment: str
    corrected_severity: str | None
    reviewer: str
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class Rollback:
    """What to roll back: `artifact_id` becomes `flawed`, everything downstream `tainted`."""

    artifact_id: int
    """The flawed artifact."""
    flawed_reason: str
    """The reason of its `flawed` status event."""
    tainted_reason: str
    """The reason of each descendant's `tainted` status event."""


@dataclass(frozen=True, kw_only=True)
class RollbackRecord:
    """What a rollback wrote (nothing, when it had been done before)."""

    artifact_id: int
    """The flawed artifact."""
    marked_flawed: bool
    """Whether this rollback wrote its `flawed` event (False: it was already `flawed`)."""
    downstream: tuple[int, ...]
    """Every descendant of the flawed artifact, ascending."""
    tainted: tuple[int, ...]
    """The descendants this rollback marked `tainted` (the others already were, or were
    `flawed` themselves)."""


@dataclass(frozen=True, kw_only=True)
class ReviewDecisionRecord:
    """What recording one decision wrote: the label, the request after it, any rollback."""

    label: ReviewLabelRecord
    request: ReviewRequestRecord
    rollback: RollbackRecord | None


@dataclass(frozen=True, kw_only=True)
class ScreenRecord:
    """An information screen between two projects (their selected proposals)."""

    id: int
    run_id: int
    artifact_id: int
    """The `information_screen` artifact (its status is `lifted` once lifted)."""
    project_a: int
    project_b: int
    question: str
    reason: str
    active: bool
    """False once a human lifted it."""
    created_at: datetime

    def other(self, project: int) -> int:
        """The project on the other side of the screen from `project`."""
        return self.project_b if project == self.project_a else self.project_a


@dataclass(frozen=True, kw_only=True)
class ScreenRefusalRecord:
    """A refused read across an information screen."""

    id: int
    screen_id: int
    run_id: int
    reader_id: int
    artifact_id: int
    via: str
    step_key: str
    created_at: datetime
