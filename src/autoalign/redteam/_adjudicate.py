"""Flagged clean controls go to humans: a "clean" artifact can have a real flaw, so a flag on a
control is a false alarm only once a human says so."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from .._text import clip
from ..store import Store

ADJUDICATION_PREFIX = "red-team control flagged"
"""How every adjudication request's reason begins (the review queue can filter on it)."""


def request_adjudication(store: Store, flagged: Mapping[int, Collection[str]]) -> list[int]:
    """Open one review request per flagged clean control, asking a human whether the control is
    really clean (the flag a false alarm) or has a real flaw.

    Args:
        store: the research database.
        flagged: artifact id of each flagged control → the critics that flagged it.

    Returns:
        The review requests' ids, in the order of `flagged`. Asking again for the same control
        and critics reuses the open request (`Store.add_review_request` keeps one per reason).
    """
    ids = []
    for artifact_id, critics in flagged.items():
        names = ", ".join(clip(c, limit=60) for c in sorted(critics)) or "a critic"
        ids.append(
            store.add_review_request(
                artifact_id=artifact_id,
                reason=f"{ADJUDICATION_PREFIX} by {names}: is it clean (a false alarm) or does "
                "it have a real flaw?",
            )
        )
    return ids


__all__ = ["ADJUDICATION_PREFIX", "request_adjudication"]
