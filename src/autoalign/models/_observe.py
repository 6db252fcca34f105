"""Who is watching the asks of the current task: the runtime records what each call waited on.

`ModelClient.ask` tells the `CallObserver` of its context (a context variable, so each step's
task and the tasks it starts see the step's observer) when an ask is issued and when it ends.
The model layer knows nothing of steps; the observer does (see `autoalign.runtime`).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Protocol


class CallObserver(Protocol):
    """Told of each ask made in its context."""

    def issued(self, step_key: str | None) -> object:
        """An ask under `step_key` starts; returns a token handed back to `finished`."""
        ...

    def finished(self, token: object) -> None:
        """The ask of `token` has ended (answered, failed or cancelled)."""
        ...


CALL_OBSERVER: ContextVar[CallObserver | None] = ContextVar("autoalign_call_observer", default=None)
"""The observer of the asks made in the current context, if any."""

__all__ = ["CALL_OBSERVER", "CallObserver"]
