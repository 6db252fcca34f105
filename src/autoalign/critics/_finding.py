"""A critic's finding: one flaw, where it is, how sure the critic is."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ._taxonomy import FlawCategory, Severity


class Location(BaseModel):
    """Where a finding points: an artifact, and where possible a field and a span in it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    artifact_id: int
    """The artifact the flaw is in (the stored flaw is attached to it)."""
    field: str | None = Field(default=None, max_length=200)
    """The part of the artifact, e.g. `rows[3].value`, `code`, `claims[0]`."""
    start: int | None = Field(default=None, ge=0)
    """Start offset (characters) of the span within that field's text, if one applies."""
    end: int | None = Field(default=None, ge=0)
    """End offset (exclusive) of the span."""
    line: int | None = Field(default=None, ge=1)
    """Line number within code, if the field is code."""

    def text(self) -> str:
        """The location in words, e.g. `artifact 7, code line 3`."""
        where = f"artifact {self.artifact_id}"
        if self.field:
            where += f", {self.field}"
        if self.line is not None:
            where += f" line {self.line}"
        if self.start is not None and self.end is not None:
            where += f" [{self.start}:{self.end}]"
        return where


class Finding(BaseModel):
    """One flaw a critic found."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: FlawCategory
    """The flaw's kind in the shared taxonomy."""
    severity: Severity
    """How much it matters; `critical` means the results must not be used downstream."""
    description: str = Field(min_length=1, max_length=2000)
    """What is wrong, in one or two sentences."""
    evidence: str = Field(default="", max_length=2000)
    """What the critic saw: the offending value, code or text, and what it was compared with."""
    location: Location
    """Where the flaw is."""
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    """How sure the critic is (a programmatic rule that fired is 1.0)."""

    def stored_description(self) -> str:
        """The text stored on the flaw record: description, evidence and location."""
        parts = [self.description]
        if self.evidence:
            parts.append(f"Evidence: {self.evidence}")
        parts.append(f"At: {self.location.text()} (confidence {self.confidence:.2f})")
        return "\n".join(parts)
