"""Structured outputs the pipeline asks models for.

Every string has a maxLength and every list a maxItems: the embedded 270M model writes until a
schema stops it, and a bounded schema is what makes its runs terminate.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

Short = Annotated[str, Field(min_length=1, max_length=120)]
Para = Annotated[str, Field(min_length=1, max_length=400)]
Long = Annotated[str, Field(min_length=1, max_length=900)]


class PositiveCase(BaseModel):
    """The case for spending research effort on a topic."""

    case: Para = Field(description="Why more research on this topic is valuable for alignment.")
    key_questions: list[Short] = Field(
        min_length=1, max_length=2, description="Open questions research could answer."
    )


class Idea(BaseModel):
    """One research idea."""

    title: Short
    summary: Para = Field(description="What would be done and what it would show.")


class IdeaList(BaseModel):
    """Ideas babbled for a topic."""

    ideas: list[Idea] = Field(min_length=1, max_length=3)


class Score(BaseModel):
    """A judge's score of one item."""

    score: int = Field(ge=1, le=10, description="1 = not worth doing, 10 = excellent.")
    rationale: Para


class Proposal(BaseModel):
    """A project proposal built from one idea."""

    title: Short
    research_question: Short
    motivation: Para
    writing_task: Para = Field(
        description="One self-contained writing task (a literature-style analysis or argument) "
        "that makes progress on the question."
    )
    expected_outcome: Para


class TaskSpec(BaseModel):
    """A fully scoped research step."""

    objective: Short
    instructions: Para
    deliverable: Short


class WorkOutput(BaseModel):
    """What the worker produced for a writing task; this is the research log of the step."""

    text: Long
    key_points: list[Short] = Field(min_length=1, max_length=3)


FlawCategory = Literal[
    "unsupported_conclusion",
    "hallucinated_reference",
    "overclaiming",
    "cherry_picking",
    "summary_drift",
    "method_flaw",
    "off_task",
    "other",
]
Severity = Literal["minor", "major", "critical"]


class FlawItem(BaseModel):
    """One flaw a critic reports."""

    category: FlawCategory
    severity: Severity
    description: Para


class CheckReport(BaseModel):
    """Critic #1's check of one executed step."""

    verdict: Literal["pass", "concern"]
    flaws: list[FlawItem] = Field(max_length=2)


class Interpretation(BaseModel):
    """The interpretation of a step's results in light of the proposal."""

    takeaways: list[Short] = Field(min_length=1, max_length=2)
    alternative_explanations: list[Short] = Field(max_length=2)
    confidence_percent: int = Field(
        ge=0, le=100, description="Probability, in percent, that the main takeaway holds."
    )
    next_step: Literal["sunset", "continue"]


class Section(BaseModel):
    """One layer of the paper's summary hierarchy."""

    title: Short
    text: Long


class ClaimItem(BaseModel):
    """A claim the paper makes, with the probability the authors give it.

    Probabilities are whole percents: grammar-constrained decoding (llama.cpp) enforces integer
    bounds but not float bounds, and a small model otherwise writes "probability": 44.7.
    """

    text: Short
    probability_percent: int = Field(ge=0, le=100)


class Abstract(BaseModel):
    """The top of the summary hierarchy."""

    title: Short
    text: Para
    claims: list[ClaimItem] = Field(min_length=1, max_length=2)


# -- records the pipeline derives without a model ---------------------------------------------


class Selection(BaseModel):
    """Which judged proposal was selected, and every judged proposal's score."""

    proposal_id: int
    scores: dict[str, float]
    """Judge score by proposal id."""


class PaperContent(BaseModel):
    """A paper: its title and the artifacts it is made of."""

    title: str
    sections: dict[str, int]
    """Section artifact id by section name (abstract, introduction, main_text, appendix)."""
    research_log: int
    proposal: int
