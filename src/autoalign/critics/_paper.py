"""`PaperDraft`: everything critic #2 checks about one paper, as the store holds it.

The write-up stage fills it from its artifacts: each section of the summary hierarchy (its
artifact and its text), the research log the paper was written from, and the claims the
abstract makes. Critic #2 compares the paper with the log.
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


class PaperClaim(BaseModel):
    """A claim the paper makes, with the probability it gives."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    """The claim as the abstract states it."""
    probability: float = Field(ge=0.0, le=1.0)
    """The probability the paper gives that the claim is true."""


class PaperDraft(BaseModel):
    """A paper before critic #2 decided its status, with the research log it summarises."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    paper_id: int
    """The paper's artifact."""
    title: str
    """The paper's title."""
    sections: tuple[PaperSection, ...]
    """The sections in reading order (abstract first)."""
    research_log_id: int
    """The research log's artifact."""
    research_log: str
    """The research log's text, which the paper must convey faithfully."""
    claims: tuple[PaperClaim, ...] = ()
    """The paper's claims (also in the abstract's text)."""

    @property
    def text(self) -> str:
        """The paper's text: its sections in reading order, as the paper artifact renders it."""
        return "\n\n".join(s.text for s in self.sections)

    def section(self, name: SectionName) -> PaperSection | None:
        """The section called `name`, if the paper has it."""
        return next((s for s in self.sections if s.name == name), None)
