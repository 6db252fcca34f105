"""`autoalign redteam ...`: the command group the red team's modules add their commands to
(`run`: injected flaws, `organisms`: model organisms of slop, `report`: the statistics,
`export`: the report's input files from the database)."""

from __future__ import annotations

import typer

REDTEAM_HELP = (
    "The red team: known flaws put in front of the critics (injected into clean steps, papers "
    "and corpora, or committed by model organisms of slop), and the statistics of what they "
    "caught."
)


def redteam_group(app: typer.Typer) -> typer.Typer:
    """The `redteam` command group of `app`, created on first use (several modules add commands
    to it)."""
    for info in app.registered_groups:
        if info.name == "redteam" and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(
        help=REDTEAM_HELP, no_args_is_help=True, add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.add_typer(group, name="redteam")
    return group


__all__ = ["REDTEAM_HELP", "redteam_group"]
