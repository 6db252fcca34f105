"""`autoalign redteam ...`: the command group the red team's modules add their commands to
(`run`: injected flaws, `organisms`: model organisms of slop, `report`: the statistics,
`export`: the report's input files from the database)."""

from __future__ import annotations

import typer

from ._common import command_group

REDTEAM_HELP = (
    "The red team: known flaws put in front of the critics (injected into clean steps, papers "
    "and corpora, or committed by model organisms of slop), and the statistics of what they "
    "caught."
)


def redteam_group(app: typer.Typer) -> typer.Typer:
    """The `redteam` command group of `app`, created on first use (several modules add commands
    to it)."""
    return command_group(app, "redteam", REDTEAM_HELP)


__all__ = ["REDTEAM_HELP", "redteam_group"]
