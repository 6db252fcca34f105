"""`autoalign learn ...`: the command group the learning modules add their commands to."""

from __future__ import annotations

import typer

LEARN_HELP = (
    "Critics that learn: labels from the red team, human reviews and later checks; updates made "
    "from them (each a new critic version); load-bearing re-checks; log erasure; learning curves."
)


def learn_group(app: typer.Typer) -> typer.Typer:
    """The `learn` command group of `app`, created on first use (several modules add commands
    to it)."""
    for info in app.registered_groups:
        if info.name == "learn" and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(
        help=LEARN_HELP, no_args_is_help=True, add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.add_typer(group, name="learn")
    return group


__all__ = ["LEARN_HELP", "learn_group"]
