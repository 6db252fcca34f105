"""How an A/B arm shows a subject to its critic: a small registry of views, by name.

A view is a pure function from a red-team subject to the subject the critic is shown (the same
type). `full` is the identity; other modules register theirs (for instance a view that keeps
only the summaries log erasure leaves). The registry is the only coupling between the A/B test
and whatever makes a view.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ConfigError
from ..redteam import Subject

View = Callable[[Subject], Subject]
"""A view: the subject as the critic should see it."""

FULL = "full"
"""The identity view: the critic sees the whole subject."""

_VIEWS: dict[str, View] = {}


def _identity(subject: Subject) -> Subject:
    return subject


def register_view(name: str, fn: View, *, replace: bool = False) -> None:
    """Register the view `fn` as `name`.

    Raises:
        ValueError: the name is empty, or already taken (and `replace` is off).
    """
    if not name or not name.strip():
        raise ValueError("a view needs a non-empty name")
    if name in _VIEWS and not replace and _VIEWS[name] is not fn:
        raise ValueError(f"a view called {name!r} is already registered")
    _VIEWS[name] = fn


def unregister_view(name: str) -> None:
    """Forget the view `name` (tests register temporary ones); `full` stays."""
    if name != FULL:
        _VIEWS.pop(name, None)


def view(name: str) -> View:
    """The view called `name`.

    Raises:
        ConfigError: no view has that name (the message lists the known ones).
    """
    try:
        return _VIEWS[name]
    except KeyError:
        raise ConfigError(f"no view called {name!r}; known: {', '.join(view_names())}",
                          field="view") from None


def view_names() -> list[str]:
    """The registered views' names, sorted."""
    return sorted(_VIEWS)


register_view(FULL, _identity)

__all__ = ["FULL", "View", "register_view", "unregister_view", "view", "view_names"]
