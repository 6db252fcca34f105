"""Structured outputs and records of stage 4 (across papers) and of the re-review.

Bounded like every pipeline schema (`_schemas.py`): the embedded model writes until a schema
stops it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ._schemas import Para, Short


class FieldSummary(BaseModel):
    """The state of a cluster's sub-field, from its members' abstracts."""

    title: Short = Field(description="A name for the sub-field.")
    summary: Para = Field(description="What the papers find together, with their hedges.")


class PairVerdict(BaseModel):
    """Critic #3's reading of two claims from two papers."""

    relation: Literal["contradiction", "convergence", "unrelated"]
    rationale: Para


class Angle(BaseModel):
    """A dimension of evidence the research has not looked at."""

    angle: Short
    why: Para


class MissingAngles(BaseModel):
    """Angles a cluster's research is missing."""

    angles: list[Angle] = Field(min_length=1, max_length=3)


class ClusterContent(BaseModel):
    """A cluster of corpus papers (a record, no model)."""

    members: list[int]
    """Paper artifact ids, ascending."""
    embedder: str
    threshold: float


class ClaimRef(BaseModel):
    """A claim as critic #3 read it."""

    claim_id: int
    paper_id: int
    text: str
    probability: float | None


class EvidenceFlag(BaseModel):
    """A claim whose support (its paper and the papers converging with it) is not independent."""

    claim_id: int
    paper_id: int
    support: list[int]
    """The papers supporting the claim, its own first."""
    shared_ancestors: list[int]
    """Artifacts every supporting paper descends from (outside the agenda's topic records)."""
    testbeds: list[str]
    """Every testbed the support's experiments ran on."""
    reason: str


class EvidenceCheck(BaseModel):
    """Over-represented evidence found in one stage-4 pass."""

    flags: list[EvidenceFlag]


class CalibratedClaim(BaseModel):
    """One claim's calibrated probability and what went into it."""

    claim_id: int
    paper_id: int
    stated: float | None
    convergent: int
    """Convergent claims from independent papers (each doubles the odds)."""
    not_independent: int
    """Convergent claims whose support shares an ancestor or testbed (counted as nothing)."""
    contradicting: int
    """Contradicting claims (each halves the odds)."""
    probability: float


class Calibration(BaseModel):
    """Calibrated probabilities of the safety-relevant claims in the corpus."""

    rule: str
    claims: list[CalibratedClaim]


class Discussion(BaseModel):
    """A contradiction set out for a closer look (a record)."""

    claims: list[ClaimRef]
    rationale: str
    questions: list[str]


class ProjectSeed(BaseModel):
    """A project critic #3 seeds into the next round's stage 1 (read as an extra idea)."""

    title: str
    summary: str


class RereviewRequest(BaseModel):
    """Papers to review again with the current critics (`autoalign rereview` acts on it)."""

    paper_ids: list[int]
    reason: str
    # Issue 14, part CK: a retroactive deeper review asks for more scrutiny than the paper's
    # last review had (added to it); 0 and 0 (older requests): the same scrutiny.
    extra_critics: int = Field(default=0, ge=0)
    """Critic-#2 instances to add to those the paper was last reviewed with."""
    escalation_drop: float = Field(default=0.0, ge=0.0, le=1.0)
    """How much further to lower the escalation band's lower edge."""


class RegenerationRequest(BaseModel):
    """Research logs whose write-up should be run again (`autoalign run AGENDA --stage
    writeup`), after a rollback under the `regenerate` policy."""

    research_log_ids: list[int]
    paper_ids: list[int]
    reason: str


class Rereview(BaseModel):
    """What a re-review of one paper changed."""

    paper_id: int
    before: str | None
    """Critic #2's earlier decision (its latest judgment), if any."""
    after: str | None
    """The decision now; None when the critique stayed invalid."""
    new_flaws: list[int]
    """Flaw ids recorded by this re-review that the paper did not have before (the same
    critic, category and severity on the same artifact counts as had)."""
    changed: bool
    """The decision differs, or there are new flaws."""
