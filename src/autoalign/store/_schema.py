"""ORM tables of the research database.

Artifacts are append-only: no column of an `Artifact` row changes after insert. A status change is
a new `ArtifactEvent`; the current status of an artifact is its latest event's status. The one
exception is log erasure (`Store.erase_artifacts`): it replaces an artifact's `content_text`,
`content_json` and `preview` by a record of the erasure, and records it in `erasures`.
The migrations in `migrations/versions` create exactly these tables.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JsonType = JSON().with_variant(JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


PREVIEW_CHARS = 200
"""Characters of an artifact's text kept in `artifacts.preview`, for listings."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that stores UTC and always reads back an aware datetime.

    SQLite keeps no offset: without this an aware value would be stored as its local wall time
    and read back naive, so a record read back would not compare with the one first returned.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Run(Base):
    """One execution of an agenda. Resuming continues the same row."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    agenda_digest: Mapped[str] = mapped_column(String(64), index=True)
    """sha256 of the normalised agenda; `autoalign run` resumes the latest unfinished run of it."""
    config: Mapped[dict[str, Any]] = mapped_column(JsonType)
    """The validated agenda, as it was when the run started."""
    seed: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))
    """running | completed | stopped | failed."""
    stop_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """"host:pid" of the process executing the run; None when no process is."""
    budget_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    budget_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Artifact(Base):
    """A typed record produced by a pipeline step. Never updated after insert, except that an
    erasure policy may replace its content (see `Erasure`)."""

    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("run_id", "step_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)
    stage: Mapped[str] = mapped_column(String(30), index=True)
    role: Mapped[str | None] = mapped_column(String(50), nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    prompt_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    step_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    """Deterministic name of the step that made it, unique within a run; used to resume."""
    title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    content_text: Mapped[str] = mapped_column(Text, default="")
    content_json: Mapped[Any] = mapped_column(JsonType, nullable=True)
    preview: Mapped[str | None] = mapped_column(String(PREVIEW_CHARS), nullable=True)
    """The first `PREVIEW_CHARS` characters of `content_text`, written with it, so that a
    listing never reads the content itself (None on rows inserted around `Store.add_artifact`)."""
    initial_status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ArtifactEvent(Base):
    """A status change of an artifact; the first event of each artifact is its creation."""

    __tablename__ = "artifact_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProvenanceEdge(Base):
    """`child` was produced from `parent`, or had `parent` in its context."""

    __tablename__ = "provenance_edges"
    # (parent_id, child_id) covers a walk down: each step reads the index alone, never the
    # table (the primary key, which starts with child_id, covers a walk up).
    __table_args__ = (Index("ix_provenance_edges_parent", "parent_id", "child_id"),)

    child_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"), primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"), primary_key=True)
    relation: Mapped[str] = mapped_column(String(20), default="derived_from")
    """derived_from | context | summarises."""


class LLMCall(Base):
    """One request to a model, or one answer served from the cache instead."""

    __tablename__ = "llm_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True, index=True)
    role: Mapped[str] = mapped_column(String(50))
    model: Mapped[str] = mapped_column(String(200))
    step_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    cache_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    """From the call's first request to its outcome (retries included); not the client's
    waits before sending (budget check, attempt row)."""
    cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    """None when the model's price is unknown."""
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LLMAttempt(Base):
    """One request sent to a provider: written before it is sent, finished after.

    An attempt still `pending` was never finished (its process died, or it is in flight); it
    and a `lost` one (timed out or cut off after it was sent) may have been billed, so the budget
    counts them at their estimate. See `AttemptStatus`.
    """

    __tablename__ = "llm_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True, index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("llm_calls.id"), nullable=True)
    """The ledger row of the ask this request belonged to, once that ask finished."""
    role: Mapped[str] = mapped_column(String(50))
    model: Mapped[str] = mapped_column(String(200))
    step_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    cache_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    """pending | answered | failed | lost (`AttemptStatus`)."""
    est_tokens: Mapped[int] = mapped_column(Integer, default=0)
    """Input + output tokens the request may use, estimated before it was sent."""
    est_cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    """USD the request may cost at that estimate; None when the price is unknown."""
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RunBudget(Base):
    """Running totals of one run's spending, so that a budget check reads one row.

    Updated in the same transaction as the ledger and attempt rows they total; rebuilt from
    those rows when a run is started or resumed (`Store.reconcile_budget`). A run's budget
    check compares `spent + unseen + reserved` (tokens, and USD) with its limits.
    """

    __tablename__ = "run_budgets"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    spent_tokens: Mapped[int] = mapped_column(Integer, default=0)
    """Input + output tokens of the run's ledger rows that went to a provider."""
    spent_usd: Mapped[float] = mapped_column(Float, default=0.0)
    """USD of those rows (priced models only)."""
    unseen_tokens: Mapped[int] = mapped_column(Integer, default=0)
    """Estimated tokens of `pending` and `lost` attempts that no live reservation covers."""
    unseen_usd: Mapped[float] = mapped_column(Float, default=0.0)
    """Estimated USD of those attempts."""
    reserved_tokens: Mapped[int] = mapped_column(Integer, default=0)
    """Estimated tokens of asks that passed the budget check and are not yet booked."""
    reserved_usd: Mapped[float] = mapped_column(Float, default=0.0)
    """Estimated USD of those asks."""


class CacheEntry(Base):
    """A model answer keyed by (model, messages, output schema, sampling settings)."""

    __tablename__ = "llm_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    request: Mapped[Any] = mapped_column(JsonType)
    raw: Mapped[str] = mapped_column(Text)
    """The model's last reply text, kept even when it failed validation."""
    output: Mapped[Any] = mapped_column(JsonType, nullable=True)
    """The validated output as JSON, or None when validation failed after all retries."""
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Flaw(Base):
    """A flaw found in (or injected into) an artifact."""

    __tablename__ = "flaws"
    __table_args__ = (Index("ix_flaws_critic", "critic", "critic_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"), index=True)
    """The flawed artifact."""
    found_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("artifacts.id"), nullable=True, index=True
    )
    """The critic report that raised it, if a critic did."""
    category: Mapped[str] = mapped_column(String(50))
    severity: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    critic: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """Id of the registered critic that found it (see `autoalign.critics`); None if no
    registered critic did (older rows, or a flaw recorded by hand)."""
    critic_version: Mapped[str | None] = mapped_column(String(50), nullable=True)
    """Version of that critic when it found the flaw."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Judgment(Base):
    """A judge's or critic's verdict on an artifact."""

    __tablename__ = "judgments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"), index=True)
    """The judged artifact."""
    judge_artifact_id: Mapped[int | None] = mapped_column(
        ForeignKey("artifacts.id"), nullable=True, index=True
    )
    """The artifact holding the judge's full reply."""
    role: Mapped[str] = mapped_column(String(50))
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    decision: Mapped[str | None] = mapped_column(String(30), nullable=True)
    rationale: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """The judge's `provider:model` (None for a human)."""
    other_artifact_id: Mapped[int | None] = mapped_column(
        ForeignKey("artifacts.id", name="fk_judgments_other_artifact_id"), nullable=True,
        index=True,
    )
    """A pairwise judgment's second item, in the order shown (`artifact_id` is the first)."""
    source: Mapped[str] = mapped_column(
        String(20), default="model", server_default="model", index=True
    )
    """`model` or `human` (`JudgmentSource`)."""
    reviewer: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """Who judged, for a human judgment."""


class Claim(Base):
    """A claim a paper makes, with its estimate, interval and probability when it has them.

    A claim about a testbed question names the testbed and the question, so that it can be
    scored against the question's ground truth (`autoalign calibration`).
    """

    __tablename__ = "claims"
    __table_args__ = (Index("ix_claims_testbed_question", "testbed", "question_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    effect: Mapped[float | None] = mapped_column(Float, nullable=True)
    ci_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    ci_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    """Probability that the question's answer is "yes" as the question states it (for a claim
    linked to a question), else that the claim is true."""
    testbed: Mapped[str | None] = mapped_column(String(50), nullable=True)
    """Name of the testbed the claim is about, or None for a claim about no testbed question."""
    question_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """Id of the testbed question the claim answers; set together with `testbed`."""
    source: Mapped[str] = mapped_column(String(20))
    """Who produced the claim's probability, a `ClaimSource`: `study` (a formula) or `pipeline`
    (an agent; the claim's artifact names its model)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReviewRequest(Base):
    """An escalation of an artifact to a human reviewer."""

    __tablename__ = "review_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    """open | resolved (`ReviewStatus`)."""
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The `ReviewDecision` that resolved it (`confirm` wins over `dismiss`); None while open.
    Each decision itself is a `ReviewLabel` row."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    """When the label that set `resolution` was recorded."""


class ReviewLabel(Base):
    """One human decision on a review request; never updated (two reviewers are two rows).

    Later issues learn from these labels (which flaws humans confirm, at which severity), so each
    row names the request, the artifact the decision is about and, when the reviewer picked one,
    the flaw.
    """

    __tablename__ = "review_labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("review_requests.id"), index=True)
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"), index=True)
    """The artifact decided on: the flaw's artifact when a flaw is named, else the request's."""
    flaw_id: Mapped[int | None] = mapped_column(
        ForeignKey("flaws.id"), nullable=True, index=True
    )
    """The flaw the decision is about, if the reviewer named one."""
    decision: Mapped[str] = mapped_column(String(20))
    """confirm | dismiss | unsure (`ReviewDecision`)."""
    comment: Mapped[str] = mapped_column(Text, default="")
    corrected_severity: Mapped[str | None] = mapped_column(String(20), nullable=True)
    """The severity the reviewer gives the flaw instead of the critic's, if any."""
    reviewer: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StepCall(Base):
    """A model call a step awaited before its artifact was stored, and what the call waited on.

    With the provenance edges this makes a run's dependency graph (`critical_path`): a call
    waited on its step's parent artifacts and, within the step, on the calls named in
    `after_key` (calls of the same step that had finished before it was issued). One row per
    (call, earlier call); a call that waited on no earlier call of its step has one row with
    `after_key` NULL.
    """

    __tablename__ = "step_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"), index=True)
    """The step's artifact, which the call's answer went into."""
    call_key: Mapped[str] = mapped_column(String(300))
    """The step key the call was booked under in `llm_calls` (e.g. `propose/ideas/0#1`)."""
    after_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    """A call of the same step that had finished before this one was issued; None for none."""


class WorkItem(Base):
    """One unit of work in the shared queue: claimed by one worker at a time under a lease.

    A worker claims the oldest ready item (queued, or claimed under a lease that expired) and
    renews the lease by a heartbeat while it works; an item whose worker died is claimed again
    when its lease runs out, and its new owner resumes it. See `docs/scaling.md`.
    """

    __tablename__ = "work_items"
    __table_args__ = (
        UniqueConstraint("kind", "key"),
        Index("ix_work_items_ready", "state", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    """What to do, a `WorkKind`: `project` or `sandbox`."""
    key: Mapped[str] = mapped_column(String(300))
    """Unique per kind: enqueueing the same (kind, key) again finds the existing item (a
    project's key is its run id; a sandbox job's, its run id and a digest of the job)."""
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True, index=True)
    """The run the work belongs to, if any."""
    payload: Mapped[Any] = mapped_column(JsonType)
    """What the handler needs, as JSON (a sandbox job; nothing for a project, whose agenda is
    its run's `config`)."""
    state: Mapped[str] = mapped_column(String(20))
    """queued | claimed | done | failed (`WorkState`)."""
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """`host:pid:start` of the worker holding the lease; None when queued or finished."""
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    """When the lease runs out unless renewed (database clock)."""
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    """The owner's last heartbeat (database clock)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Times the item was claimed; an item claimed `MAX_ATTEMPTS` times without finishing
    fails."""
    result: Mapped[Any] = mapped_column(JsonType, nullable=True)
    """What the handler returned (a sandbox record; a project's run status), once done."""
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Why the item failed."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class InformationScreen(Base):
    """Two projects (their selected proposals) kept from reading each other's artifacts, so that
    their agreement later counts as independent evidence. The screen's artifact (kind
    `information_screen`) holds the judge's reason; a lift is a `lifted` status event on it."""

    __tablename__ = "information_screens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"), unique=True)
    """The `information_screen` artifact that records the decision (and, by status, a lift)."""
    project_a: Mapped[int] = mapped_column(ForeignKey("artifacts.id"), index=True)
    """One project's selected proposal."""
    project_b: Mapped[int] = mapped_column(ForeignKey("artifacts.id"), index=True)
    """The other project's selected proposal."""
    question: Mapped[str] = mapped_column(Text)
    """The question both projects attack."""
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ScreenRefusal(Base):
    """A read across an information screen that was refused: who tried to read what, where."""

    __tablename__ = "screen_refusals"
    __table_args__ = (UniqueConstraint("screen_id", "artifact_id", "via", "step_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    screen_id: Mapped[int] = mapped_column(ForeignKey("information_screens.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    reader_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"))
    """The reading project's proposal."""
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"))
    """The artifact it was refused."""
    via: Mapped[str] = mapped_column(String(50))
    """Where the read was attempted: a worker tool (`read_result`) or a prompt's context
    (`related_work`, `history`)."""
    step_key: Mapped[str] = mapped_column(String(300), default="")
    """The step that attempted it."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OrganismFlaw(Base):
    """A misbehaviour a model organism of slop committed: the red team's ground truth.

    No critic, stage or prompt reads this table (only `autoalign.redteam` does, after the
    critics have run): it is the answer key the critics are scored against."""

    __tablename__ = "redteam_organism_flaws"
    __table_args__ = (UniqueConstraint("run_id", "step_key", "flaw_type", "field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    organism: Mapped[str] = mapped_column(String(100))
    """The organism's name, as its configuration gives it."""
    flaw_type: Mapped[str] = mapped_column(String(50))
    """The red-team flaw type id (`invented_number`, `p_hacking`, ...)."""
    step_key: Mapped[str] = mapped_column(String(300))
    """The step whose answer carries the misbehaviour."""
    artifact_id: Mapped[int | None] = mapped_column(ForeignKey("artifacts.id"), nullable=True)
    """The artifact that carries it; None until the step's artifact is stored."""
    field: Mapped[str] = mapped_column(String(200))
    """Where in the artifact's content (`summary`, `answers[0].estimate`, `text`, ...)."""
    detail: Mapped[str] = mapped_column(Text)
    """What the organism did, in words and numbers."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RedteamExperiment(Base):
    """A red-team experiment (`autoalign redteam run`): its config, seed and status. What it
    injected lives only in the red-team tables, which no critic reads."""

    __tablename__ = "redteam_experiments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    """The experiment's name; re-running a config of that name continues it."""
    config_digest: Mapped[str] = mapped_column(String(64))
    """sha256 of the normalised config; a different config under the same name is refused."""
    config: Mapped[dict[str, Any]] = mapped_column(JsonType)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))
    """running | completed | failed."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RedteamInjection(Base):
    """One known flaw put into a tampered copy of a clean subject: what changed, and where."""

    __tablename__ = "redteam_injections"
    __table_args__ = (UniqueConstraint("experiment_id", "subject_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("redteam_experiments.id"), index=True)
    subject_key: Mapped[str] = mapped_column(String(300))
    clean_key: Mapped[str] = mapped_column(String(300))
    """The clean subject it was made from (`builtin:paper`, `db:paper-12`)."""
    flaw_type: Mapped[str] = mapped_column(String(100))
    where: Mapped[str] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(20))
    source_artifact_id: Mapped[int | None] = mapped_column(
        ForeignKey("artifacts.id"), nullable=True
    )
    """The artifact the clean subject was read from, when it came from the database."""
    artifact_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The artifact id, as the subject names it, that the changed field belongs to."""
    field: Mapped[str] = mapped_column(String(300))
    span_start: Mapped[int | None] = mapped_column(Integer, nullable=True)
    span_end: Mapped[int | None] = mapped_column(Integer, nullable=True)
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RedteamTrial(Base):
    """One critic run on one red-team subject (a tampered copy or a clean control), as one
    matcher judged it."""

    __tablename__ = "redteam_trials"
    __table_args__ = (UniqueConstraint("experiment_id", "subject_key", "critic", "matcher"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("redteam_experiments.id"), index=True)
    subject_key: Mapped[str] = mapped_column(String(300))
    critic: Mapped[str] = mapped_column(String(150))
    """`<critic id>@<version>`."""
    detected: Mapped[bool] = mapped_column(Boolean)
    flagged: Mapped[bool] = mapped_column(Boolean)
    probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    severe: Mapped[bool] = mapped_column(Boolean)
    matcher: Mapped[str] = mapped_column(String(20))
    findings: Mapped[Any] = mapped_column(JsonType)
    """The critic's findings as reported (a list of `Finding` dumps)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseRegistration(Base):
    """A safety case registered for this database (`autoalign case register`): re-evaluated
    after every `autoalign run` and `autoalign redteam run`."""

    __tablename__ = "case_registrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    """The case's name (the file's stem unless given)."""
    path: Mapped[str] = mapped_column(Text)
    """The case file, as an absolute path."""
    redteam_report: Mapped[str | None] = mapped_column(Text, nullable=True)
    """A red-team report JSON the case reads, as an absolute path."""
    redteam_experiment: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """Or a red-team experiment of this database whose report is built at each evaluation."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseSnapshot(Base):
    """One evaluation of a safety case, kept as it was (never updated): every node's status,
    confidence and the figures it read."""

    __tablename__ = "case_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_name: Mapped[str] = mapped_column(String(200), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    """sha256 of the case file's text evaluated."""
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    content: Mapped[Any] = mapped_column(JsonType)
    """The evaluation (`autoalign.case.Evaluation` as JSON)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Label(Base):
    """One piece of truth about a subject and, when a critic judged the subject, what that
    critic said about it (one row per label and critic version judged). Rows are only added."""

    __tablename__ = "labels"
    __table_args__ = (
        UniqueConstraint("source", "source_ref", "critic"),
        Index("ix_labels_critic_known", "critic", "known_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    """artificial | organic | semi_organic (`LabelKind`)."""
    source: Mapped[str] = mapped_column(String(30))
    """The kind of record it was read from (`LabelSource`)."""
    source_ref: Mapped[str] = mapped_column(String(300))
    """That record, e.g. `trial:12`, `review_label:3`; with `source` and `critic`, unique."""
    subject: Mapped[str] = mapped_column(String(300))
    """What was judged: a red-team subject key, or `artifact:<id>`."""
    artifact_id: Mapped[int | None] = mapped_column(
        ForeignKey("artifacts.id"), nullable=True, index=True
    )
    flaw_id: Mapped[int | None] = mapped_column(ForeignKey("flaws.id"), nullable=True)
    flaw_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """The flaw's type (red-team type or taxonomy category); None for a clean subject."""
    present: Mapped[bool] = mapped_column(Boolean)
    """The truth: the subject has the flaw (or, for a clean subject, any flaw)."""
    severe: Mapped[bool] = mapped_column(Boolean)
    """The truth a stated severe-flaw probability is scored against."""
    critic: Mapped[str] = mapped_column(String(150), default="", index=True)
    """The critic version judged, `<id>@<version>`; empty when no critic's verdict is known."""
    detected: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    """That critic's verdict: it reported the flaw (or, on a clean subject, any flaw)."""
    probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    """That critic's stated probability of a severe flaw, if it states one."""
    detail: Mapped[str] = mapped_column(Text, default="")
    known_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """When the truth became known (the injection, the review decision, the later check)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CriticVersion(Base):
    """An update to a critic made from labels (`UpdateKind`), applied or rejected, with the
    evidence for the decision. Rows are only added; the newest applied row of each update kind
    is the one in use."""

    __tablename__ = "critic_versions"
    __table_args__ = (UniqueConstraint("critic", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    critic: Mapped[str] = mapped_column(String(100), index=True)
    """The critic (or judge aggregation) id, without a version."""
    version: Mapped[str] = mapped_column(String(100))
    """The version results name: the registered version plus the update, `1+recalibration.2`."""
    base_version: Mapped[str] = mapped_column(String(50))
    """The registered critic's own version the update applies to."""
    update: Mapped[str] = mapped_column(String(30))
    """What changed (`UpdateKind`)."""
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("critic_versions.id", name="fk_critic_versions_parent_id"), nullable=True
    )
    """The version in use when this one was made, if any."""
    params: Mapped[Any] = mapped_column(JsonType)
    """The update itself (a calibration map, weights, a model id)."""
    evidence: Mapped[Any] = mapped_column(JsonType)
    """What it was decided on: the labels used (count, last id) and held-out measurements."""
    applied: Mapped[bool] = mapped_column(Boolean)
    """True: results from now on use it. False: rejected (kept, with the reason)."""
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# A/B tests of components (`autoalign ab run`, issue 14).
class AbExperiment(Base):
    """An A/B test of two component variants on paired tasks: its config, seed, status and,
    when the sequential test stopped it, after how many tasks."""

    __tablename__ = "ab_experiments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    """The experiment's name; re-running a config of that name resumes it."""
    config_digest: Mapped[str] = mapped_column(String(64))
    """sha256 of the normalised config; a different config under the same name is refused."""
    config: Mapped[dict[str, Any]] = mapped_column(JsonType)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))
    """running | completed | stopped (by the sequential test) | failed."""
    tasks: Mapped[int] = mapped_column(Integer, default=0)
    """Tasks the config makes (each run under both arms)."""
    stopped_after: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Tasks finished when the sequential test stopped the experiment; None: it did not."""
    stop_statistic: Mapped[float | None] = mapped_column(Float, nullable=True)
    """The mixture likelihood ratio at the stop."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AbOutcome(Base):
    """One task run under one arm: what the arm's critic decided, and whether it was right."""

    __tablename__ = "ab_outcomes"
    __table_args__ = (UniqueConstraint("experiment_id", "task_key", "arm"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("ab_experiments.id"), index=True)
    task_key: Mapped[str] = mapped_column(String(300))
    task_index: Mapped[int] = mapped_column(Integer)
    """The task's place in the experiment's (seeded, shuffled) task order."""
    task_seed: Mapped[int] = mapped_column(Integer)
    """The seed both arms ran the task with."""
    arm: Mapped[str] = mapped_column(String(1))
    """`A` or `B`."""
    position: Mapped[int] = mapped_column(Integer)
    """0 when this arm ran first on the task, 1 when second (the order is randomised)."""
    flaw_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """The injected flaw's type; None for a clean control."""
    critic: Mapped[str] = mapped_column(String(150))
    """`<critic id>@<version>` of the arm."""
    view: Mapped[str] = mapped_column(String(100))
    correct: Mapped[bool] = mapped_column(Boolean)
    flagged: Mapped[bool] = mapped_column(Boolean)
    detected: Mapped[bool] = mapped_column(Boolean)
    probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    severe: Mapped[bool] = mapped_column(Boolean)
    """The task has a severe flaw (what stated probabilities are scored against)."""
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The critic's error when its check raised (stored as flagging nothing)."""
    findings: Mapped[Any] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LearningCheck(Base):
    """One decision about an expensive check (issue 14, part CK; `docs/learning.md`): a
    retroactive deeper review of a load-bearing paper scheduled or skipped for budget, or a
    confused critic #2 routed to a human, skipped for budget, or left to a request already
    open. Rows are only ever added."""

    __tablename__ = "learning_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    """`deep_review` or `human_escalation` (`CheckKind`)."""
    paper_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(30))
    """`descendants`, `case_evidence`, `confused_band` or `instance_spread` (`CheckTrigger`)."""
    descendants: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The paper's descendants (its own reviews left out) when it was decided; deep reviews."""
    case_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """For `case_evidence`: the registered case whose metric the paper feeds."""
    metric: Mapped[str | None] = mapped_column(Text, nullable=True)
    """For `case_evidence`: that metric's path."""
    outcome: Mapped[str] = mapped_column(String(30))
    """`scheduled`, `escalated`, `skipped_budget` or `already_open` (`CheckOutcome`)."""
    request_artifact_id: Mapped[int | None] = mapped_column(
        ForeignKey("artifacts.id"), nullable=True)
    """The `rereview_request` a scheduled deep review created."""
    review_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("review_requests.id"), nullable=True)
    """The human review request opened (or the one already open)."""
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("artifacts.id"), nullable=True, unique=True)
    """For a human escalation: the critic-2 report that was confused (one decision each)."""
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True, index=True)
    """The run whose budget the decision counts against (None: `autoalign learn checks`)."""
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Erasure(Base):
    """What an erasure policy did to one artifact (`autoalign learn erase`): erased it (its
    content replaced by a record of the erasure and a summary; the row, its status events and
    its provenance edges stay) or refused to, with the reason. Rows are only ever added."""

    __tablename__ = "erasures"
    __table_args__ = (Index("ix_erasures_artifact", "artifact_id", "outcome"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"))
    outcome: Mapped[str] = mapped_column(String(20))
    """erased | refused (`ErasureOutcome`)."""
    policy: Mapped[str] = mapped_column(String(200))
    """The policy's name."""
    policy_digest: Mapped[str] = mapped_column(String(64))
    """sha256 of the policy's normalised settings."""
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    """The policy's score of the artifact (higher: erased sooner)."""
    reason: Mapped[str | None] = mapped_column(String(50), nullable=True)
    """Why it was refused (`ErasureRefusal`); None for an erasure."""
    detail: Mapped[str] = mapped_column(Text, default="")
    """The refusal in words (which review, flaw or case), or the erasure's summary line."""
    original_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """sha256 of the original content (an erasure)."""
    original_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Size of the original content in bytes (an erasure)."""
    bytes_freed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Original size minus the size of what replaced it (an erasure)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    """When it was erased or refused."""


# -- the flaw library (issue 14, part LB) ----------------------------------------------------


class FlawRetrieval(Base):
    """Past flaws retrieved from the flaw library into one prompt: which entries, with which
    scores, from which library version. Written by the step that made the prompt, before the
    model is asked; one row per (run, step key), never updated."""

    __tablename__ = "flaw_retrievals"
    __table_args__ = (UniqueConstraint("run_id", "step_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    step_key: Mapped[str] = mapped_column(String(300))
    """The step whose prompt carried the hits (its artifact has this run and step key)."""
    role: Mapped[str] = mapped_column(String(100))
    """Who read them: a critic id (`c2.investigate`) or a judge (`judge.idea-screen`)."""
    library_version: Mapped[str] = mapped_column(String(200))
    """The reader's critic version for the library snapshot, `<id>@<version>`."""
    embedder: Mapped[str] = mapped_column(String(200))
    """How similarity was measured (`tfidf`, `openai:<model>`)."""
    query: Mapped[str] = mapped_column(Text)
    """The text the hits are similar to."""
    hits: Mapped[Any] = mapped_column(JsonType)
    """The hits in order: `[{"entry": "flaw:12", "score": 0.41, "text": "..."}]`."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
