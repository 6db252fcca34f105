"""`autoalign learn ...`: the command group the learning modules add their commands to."""

from __future__ import annotations

import typer

from ._common import command_group

LEARN_HELP = (
    "Critics that learn: labels from the red team, human reviews and later checks; updates made "
    "from them (each a new critic version); load-bearing re-checks; log erasure; learning curves."
)


def learn_group(app: typer.Typer) -> typer.Typer:
    """The `learn` command group of `app`, created on first use (several modules add commands
    to it)."""
    return command_group(app, "learn", LEARN_HELP)


__all__ = ["LEARN_HELP", "learn_group"]
