"""The red team: known flaws put in front of the critics, and the statistics of what they
caught (see `docs/statistics.md`)."""

from ._trial import Trial

__all__ = ["Trial"]
