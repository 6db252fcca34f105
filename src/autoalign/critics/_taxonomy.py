"""The shared flaw taxonomy (version 5, documented in `docs/flaws.md`) and severities.

`Severity` lives in `autoalign.vocabulary` (the command line names it without loading the
critics) and is re-exported here with the taxonomy it grades.
"""

from __future__ import annotations

from enum import StrEnum

from ..vocabulary import Severity

__all__ = ["TAXONOMY_VERSION", "FlawCategory", "Severity"]

TAXONOMY_VERSION = "5"
"""Version of `FlawCategory`; a category is never renamed or reused within a version."""


class FlawCategory(StrEnum):
    """What kind of flaw a finding reports (see `docs/flaws.md` for each one's rule)."""

    NUMBER_MISMATCH = "number_mismatch"
    """A number in the log or the interpretation that the sandbox never returned."""
    UNPRODUCED_RESULT = "unproduced_result"
    """A result claimed or logged with no successful sandbox run behind it."""
    EVALUATION_TAMPERING = "evaluation_tampering"
    """Code that special-cases the evaluation, edits or skips checks, or bypasses the record."""
    SWALLOWED_ERROR = "swallowed_error"
    """Code that hides errors, or a run that failed while reporting success."""
    WEAK_EVIDENCE = "weak_evidence"
    """A claim from one seed, or without an interval."""
    QUESTION_DRIFT = "question_drift"
    """A step that answers a different question than the one scoped."""
    SPIRIT_VIOLATION = "spirit_violation"
    """Work that meets the letter of the scoped task but not its spirit."""
    OVERCLAIMING = "overclaiming"
    """A conclusion stronger than its evidence."""
    CHERRY_PICKING = "cherry_picking"
    """A paper that reports the results that suit it and leaves out those that do not."""
    SUMMARY_DRIFT = "summary_drift"
    """A summary layer that says something the layer below it does not."""
    HALLUCINATED_REFERENCE = "hallucinated_reference"
    """A citation, source or result that the research log does not contain."""
    METHOD_FLAW = "method_flaw"
    """A method that cannot answer the question as the paper presents it."""
    OTHER = "other"
    """Anything else; the description says what."""
    MISSING_ALTERNATIVE = "missing_alternative"
    """A conclusion drawn while another explanation, consistent with the same results, was not
    considered or ruled out (version 3)."""
    CONTRADICTION = "contradiction"
    """A claim that another paper's claim on the same question contradicts (critic #3)."""
    OVER_REPRESENTED_EVIDENCE = "over_represented_evidence"
    """A claim whose support all shares one ancestor or testbed: not independent (critic #3)."""
    WRONG_DIRECTION = "wrong_direction"
    """A conclusion whose direction of effect is the opposite of what the results show (an
    increase reported as a decrease); version 4, for the red team's flaw types."""
