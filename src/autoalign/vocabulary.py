"""Names the agenda, the store, the pipeline and the CLI share, in one place.

Every vocabulary is a `StrEnum`: its members are strings, so the database columns stay plain
text and a value read back from the store compares equal to its member. The agenda validates
`[models.roles]` against `Role` without importing the pipeline; the pipeline asks every one of
these roles for a model before a run starts.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A part an LLM plays in the pipeline; each may get its own model in `[models.roles]`."""

    PROPOSER = "proposer"
    """Positive cases, ideas, proposals, scoping and interpretation."""
    JUDGE = "judge"
    """Scores of ideas and proposals."""
    WORKER = "worker"
    """Executes the research step."""
    CRITIC_1 = "critic-1"
    """Checks the executed step for low-level failures."""
    SUMMARIZER = "summarizer"
    """Writes the paper's summary hierarchy."""
    CRITIC_2 = "critic-2"
    """Checks the paper against its research log and decides accept or reject."""


ROLE_NAMES: tuple[str, ...] = tuple(role.value for role in Role)
"""Every role's name, in pipeline order."""


class Stage(StrEnum):
    """A pipeline stage; every artifact records the stage that wrote it."""

    PROPOSE = "propose"
    """Topics → positive cases → ideas → judged ideas → proposals → one selection."""
    EXECUTE = "execute"
    """Scope a research step, do it, check it (critic #1), interpret it."""
    WRITEUP = "writeup"
    """The paper's summary hierarchy, then critic #2's review and the paper's status."""


class Kind(StrEnum):
    """What an artifact is."""

    TOPIC = "topic"
    POSITIVE_CASE = "positive_case"
    IDEA_BATCH = "idea_batch"
    IDEA = "idea"
    IDEA_JUDGMENT = "idea_judgment"
    PROPOSAL = "proposal"
    PROPOSAL_JUDGMENT = "proposal_judgment"
    SELECTION = "selection"
    TASK_SPEC = "task_spec"
    RESEARCH_LOG = "research_log"
    CHECK_REPORT = "check_report"
    INTERPRETATION = "interpretation"
    APPENDIX = "appendix"
    MAIN_TEXT = "main_text"
    INTRODUCTION = "introduction"
    ABSTRACT = "abstract"
    PAPER = "paper"
    PAPER_CRITIQUE = "paper_critique"
    SANDBOX_RUN = "sandbox_run"
    EXPERIMENT_CLAIM = "experiment_claim"


class Status(StrEnum):
    """An artifact's status; the latest status event wins, earlier ones stay in the history."""

    OK = "ok"
    """A step's valid output."""
    FAILED = "failed"
    """A step whose output stayed invalid; the raw reply is kept."""
    DRAFT = "draft"
    """A paper before critic #2 decided."""
    SELECTED = "selected"
    """The proposal the judge's scores chose."""
    NOT_SELECTED = "not_selected"
    """A judged proposal that was not chosen."""
    ACCEPTED = "accepted"
    """A paper critic #2 accepted (accept, minor revision): it is in the corpus."""
    REVISION_REQUESTED = "revision_requested"
    """A paper critic #2 sent back for major revision."""
    REJECTED = "rejected"
    """A paper critic #2 rejected."""


class RunStatus(StrEnum):
    """A run's lifecycle: `running` until it ends `completed`, `stopped` or `failed`."""

    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"
    """Budget spent, a step failed under `on_failure = "stop"`, a stage had no input, or
    interrupted; running again resumes."""
    FAILED = "failed"
    """A provider failure or an internal error."""


class Relation(StrEnum):
    """How a provenance edge links a child artifact to a parent."""

    DERIVED_FROM = "derived_from"
    """The child was made from the parent (the default)."""
    CONTEXT = "context"
    """The parent was shown as context."""
    SUMMARISES = "summarises"
    """A paper section summarises the parent."""
    CONTAINS = "contains"
    """A paper contains the parent section."""


class ClaimSource(StrEnum):
    """Who produced a claim's probability; calibration reports each source separately, since a
    formula's calibration says nothing about a model's."""

    STUDY = "study"
    """`autoalign study`: a formula (a normal approximation to the effect's estimate), no model."""
    PIPELINE = "pipeline"
    """Stated by an agent in the pipeline; the claim's artifact names the model."""
