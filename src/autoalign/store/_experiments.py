"""What the red team's and the A/B tests' experiments share: a row named once under one config,
found by name or id, and started again by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import ConfigError
from ._schema import utcnow
from ._session import StoreBase


def find_named(session: Session, model: Any, name_or_id: str | int) -> Any:
    """The experiment row of `model` with this id (an int) or name, or None."""
    if isinstance(name_or_id, int):
        return session.get(model, name_or_id)
    return session.scalars(select(model).where(model.name == name_or_id)).first()


def running_again(row: Any) -> None:
    """Mark an existing experiment row running, not finished."""
    row.status, row.updated_at, row.finished_at = "running", utcnow(), None


def start_named(
    store: StoreBase, model: Any, *, what: str, name: str, config_digest: str,
    new: Callable[[], Any], again: Callable[[Any], None] = running_again,
) -> None:
    """Create the experiment row `name` (`new()` makes it), or, if it exists under the same
    config, pass its row to `again` in a write transaction. A process that loses the race to
    create it finds the winner's row.

    Raises:
        ConfigError: an experiment of that name exists with another config (`what` names its
            kind in the message).
    """
    with store._read() as s:
        row = find_named(s, model, name)
    if row is not None and row.config_digest != config_digest:
        raise ConfigError(
            f"{what} {name!r} exists with another config (digest {row.config_digest[:12]}); "
            "give the new config another name",
            field="name",
        )
    try:
        with store._write() as s:
            if row is None:
                s.add(new())
            else:
                found = s.get(model, row.id)
                assert found is not None
                again(found)
    except IntegrityError:  # another process created it first
        pass
