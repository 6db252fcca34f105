"""Names the agenda, the pipeline and the CLI share, in one place.

The agenda validates `[models.roles]` against `Role` without importing the pipeline; the pipeline
asks every one of these roles for a model before a run starts.
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
