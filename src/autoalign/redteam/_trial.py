"""What a red-team experiment observed, in the one shape its statistics read.

A *subject* is one thing a critic was shown: a tampered copy of a clean artifact carrying one
known flaw, a clean control, or a paper a model organism wrote with known misbehaviours. A
*trial* is one critic run on one subject. Every experiment (injection, organisms, whole-pipeline
injection) reduces to trials; the statistics (`autoalign redteam report`) read nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Trial:
    """One critic run on one subject."""

    subject: str
    """The subject's key, unique within its experiment and the same for every critic run on
    it (so trials of two critics on one subject can be paired)."""
    critic: str
    """The critic and its version, as `<critic id>@<version>` (`c2.numbers-match@1`)."""
    flaw_type: str | None
    """The known flaw's type (a red-team flaw type id, shared by injections and organisms);
    None for a clean control."""
    where: str | None = None
    """Where the known flaw lives: `execution`, `paper` or `corpus`; None for a control."""
    method: str | None = None
    """How the flaw got there: `programmatic` or `llm` (injected), `organism` (a model organism
    misbehaved), `pipeline` (injected into a running pipeline); None for a control."""
    detected: bool
    """On a flawed subject: the critic reported a flaw that matches the known one (same type,
    overlapping location). On a control: the critic reported any flaw (a false alarm, unless a
    human finds the control was not clean after all)."""
    flagged: bool
    """The critic reported any flaw at all (on a flawed subject, perhaps not the known one)."""
    probability: float | None = None
    """The critic's stated probability that the subject has a severe flaw, when it states one."""
    severe: bool = False
    """The truth that `probability` is scored against: the known flaw is major or critical
    (False for a control)."""
    matcher: str = "strict"
    """Which matcher decided `detected`: `strict` (type and location) or `llm`."""
    organism_flaw: str | None = None
    """For a model organism's flaw (`method` `organism`): the organism's own name of its
    misbehaviour (`invented_number`), `flaw_type` being the shared type it maps onto
    (`unproduced-result`, `ORGANISM_FLAW_TYPES`)."""

    @property
    def control(self) -> bool:
        """A clean control (no known flaw)."""
        return self.flaw_type is None


__all__ = ["Trial"]
