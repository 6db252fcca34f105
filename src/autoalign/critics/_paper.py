"""`PaperDraft`: everything critic #2 checks about one paper, as the store holds it.

The write-up stage fills it from its artifacts: each section of the summary hierarchy (its
artifact and its text), the research log the paper was written from, the claims the abstract
makes, every number of the log with where it came from (`LogNumber`), and the project's claims
with their intervals (`EvidenceClaim`). `autoalign examine` fills it from a paper written
elsewhere and its logs. Critic #2 compares the paper with the log.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SectionName = Literal["abstract", "introduction", "main_text", "appendix"]
"""A paper's sections, named as the write-up stage names them."""

PAPER_SECTIONS: tuple[SectionName, ...] = ("abstract", "introduction", "main_text", "appendix")
"""Top-down reading order of a paper."""


class PaperSection(BaseModel):
    """One section of the paper."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: SectionName
    """Which section it is."""
    artifact_id: int
    """The section's artifact (a flaw in the section is attached to it)."""
    text: str
    """The section as stored (title, text and, for the abstract, its claims)."""
    heading: str | None = None
    """The heading it had in an imported paper (several imported sections may be `main_text`)."""


class PaperClaim(BaseModel):
    """A claim the paper makes, with the probability it gives."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    """The claim as the abstract states it."""
    probability: float = Field(ge=0.0, le=1.0)
    """The probability the paper gives that the claim is true."""


class LogNumber(BaseModel):
    """One number of the research log, with where it came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    artifact_id: int
    """The artifact holding it (a `step_log`, or an `imported_log`)."""
    run: int | None = None
    """The `sandbox_run` artifact that returned it (None for an imported log)."""
    arm: str
    """The arm or condition (empty when an imported log names none)."""
    metric: str
    """The metric's name."""
    seed: int | None = None
    """The seed, or None for a mean (or a value an imported log gives no seed for)."""
    value: float
    """The value exactly as the log holds it."""
    where: str = Field(default="", max_length=300)
    """For an imported log: the place in the file, e.g. `results.csv line 3, column acc`."""

    def describe(self) -> str:
        """The number and its source in words, for a finding's evidence."""
        which = "mean" if self.seed is None else f"seed {self.seed}"
        source = self.where or (f"run {self.run}" if self.run is not None else "")
        arm = f"{self.arm} " if self.arm else ""
        return f"{arm}{self.metric} ({which}) = {self.value!r} [artifact {self.artifact_id}" + (
            f", {source}]" if source else "]"
        )


class EvidenceClaim(BaseModel):
    """A claim of the research (an experiment's answer to a question), with its interval."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    artifact_id: int
    """The claim's artifact (an `experiment_claim`)."""
    question: str | None = None
    """`testbed/question_id` it answers, if any."""
    text: str = ""
    """The question or claim in words."""
    treated_arm: str | None = None
    """The treated arm's label."""
    estimate: float | None = None
    """The effect estimate."""
    ci_low: float | None = None
    """Lower end of its 95% interval."""
    ci_high: float | None = None
    """Upper end of its 95% interval."""
    probability: float | None = Field(default=None, ge=0.0, le=1.0)
    """P(yes) as the research stated it."""
    threshold: float | None = None
    """The effect size the question asks about (its testbed's threshold); None when unknown,
    and then zero is the line the interval must not cross."""
    seeds: int | None = Field(default=None, ge=0)
    """Seeds behind it: the fewest over its runs' arms, counted in the log (None: unknown)."""


class PaperDraft(BaseModel):
    """A paper before critic #2 decided its status, with the research log it summarises."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    paper_id: int
    """The paper's artifact."""
    title: str
    """The paper's title."""
    sections: tuple[PaperSection, ...]
    """The sections in reading order (abstract first)."""
    research_log_id: int | None
    """The research log's artifact (None for an imported paper, whose logs are several
    `imported_log` artifacts)."""
    research_log: str
    """The research log's text, which the paper must convey faithfully."""
    claims: tuple[PaperClaim, ...] = ()
    """The paper's claims (also in the abstract's text)."""
    numbers: tuple[LogNumber, ...] = ()
    """Every number of the research log, each with where it came from."""
    evidence: tuple[EvidenceClaim, ...] = ()
    """The research's claims with their intervals and probabilities."""

    @property
    def text(self) -> str:
        """The paper's text: its sections in reading order, as the paper artifact renders it."""
        return "\n\n".join(s.text for s in self.sections)

    def section(self, name: SectionName) -> PaperSection | None:
        """The section called `name`, if the paper has it."""
        return next((s for s in self.sections if s.name == name), None)

    def sections_named(self, name: SectionName) -> list[PaperSection]:
        """Every section called `name` (an imported paper may have several main-text ones)."""
        return [s for s in self.sections if s.name == name]
