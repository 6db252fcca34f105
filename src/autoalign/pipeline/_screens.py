"""Information screens where a project reads the database.

Every read a project's agents make of the research database goes through its `ScreenGate`: the
worker's `read_result` tool, and the context the execute stage assembles for a project's
prompts (the related work its proposal cites, its earlier steps). A read of an artifact that
belongs to a project on the other side of an active screen is refused: the tool returns the
refusal to the model, a prompt leaves the artifact out, and either way a `screen_refusals` row
records who tried to read what, where. An agent that needs the artifact appeals: a review
request on the screen's artifact, whose reason names the screen; a human lifts the screen with
`autoalign screens lift`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..store import ScreenRecord, Store

APPEAL_PREFIX = "appeal to lift information screen"
"""How an appeal's review request reason starts (then the screen's id)."""


@dataclass(frozen=True, kw_only=True)
class ScreenGate:
    """One project's door to the database, which refuses (and records) reads across screens."""

    store: Store
    project: int
    """The reading project's (selected) proposal."""

    def refusal(self, target: int, *, via: str, step_key: str) -> str | None:
        """None when the project may read `target`; else record the refused read and return
        what the reader is told."""
        screen = self.store.blocking_screen(reader=self.project, target=target)
        if screen is None:
            return None
        self.store.add_screen_refusal(
            screen_id=screen.id, reader_id=self.project, artifact_id=target, via=via,
            step_key=step_key,
        )
        return refusal_text(screen, target)

    def readable(self, ids: Sequence[int], *, via: str, step_key: str) -> list[int]:
        """The ids of `ids` the project may read, in order; each refused one is recorded."""
        return [i for i in ids if self.refusal(i, via=via, step_key=step_key) is None]

    def appeal(self, screen_id: int, reason: str) -> int:
        """Open a review request to lift screen `screen_id` (one on this project); returns its id.

        Raises:
            ValueError: the screen is not one of this project's active screens.
        """
        mine = {s.id: s for s in self.store.project_screens(self.project)}
        if screen_id not in mine:
            raise ValueError(
                f"screen {screen_id} is not an active screen of this project; its screens are "
                f"{sorted(mine) or 'none'}"
            )
        screen = mine[screen_id]
        return self.store.add_review_request(
            artifact_id=screen.artifact_id,
            reason=f"{APPEAL_PREFIX} {screen.id} (proposals {screen.project_a} and "
            f"{screen.project_b}) from proposal {self.project}: {reason.strip()[:300]}",
        )


def refusal_text(screen: ScreenRecord, target: int) -> str:
    """What a reader is told when `screen` keeps it from artifact `target`."""
    return (
        f"refused: artifact {target} belongs to a project kept apart from yours by information "
        f"screen {screen.id} (on: {screen.question}), so that the two projects stay independent "
        f"evidence. If you cannot do the task without it, appeal with appeal_screen(screen_id="
        f"{screen.id}, reason=...): a human decides."
    )


__all__ = ["APPEAL_PREFIX", "ScreenGate", "refusal_text"]
