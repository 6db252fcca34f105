"""`autoalign critics ...`: list the registered critics (critic #1's checks of executed steps,
critic #2's review of papers); measure the programmatic ones on their
known-answer cases. Thin: it calls `autoalign.critics` and prints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from .._text import safe
from ..errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from ..critics.known_answers import Rate

critics_app = typer.Typer(
    rich_markup_mode=None,
    help="The critics: list them, and measure each programmatic critic's recall and false-alarm "
    "rate on its known-answer cases.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def register(app: typer.Typer) -> None:
    """Mount `autoalign critics` on `app`."""
    app.add_typer(critics_app, name="critics")


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def _rate(rate: Rate) -> tuple[str, str]:
    if rate.value is None or rate.interval is None:
        return "-", "-"
    return (
        f"{rate.value:.3f} ({rate.hits}/{rate.n})",
        f"[{rate.interval.low:.3f}, {rate.interval.high:.3f}]",
    )


@critics_app.command("list")
def list_command() -> None:
    """List the critics: id, version, kind, which critic and stage it belongs to (what subject
    it checks), what it reads and what it flags."""
    from rich.table import Table

    from ..critics import list_critics

    table = Table(header_style="bold")
    for col in ("id", "version", "kind", "critic: subject (stage)", "reads", "flags"):
        table.add_column(col, overflow="fold")
    for critic in list_critics():
        table.add_row(safe(critic.id), safe(critic.version), critic.kind,
                      critic.scale.describe(), safe(", ".join(critic.checks)),
                      safe(critic.description))
    _console().print(table)


CriticOption = Annotated[
    list[str] | None,
    typer.Option("--critic", help="Only this programmatic critic (repeatable); see `list`."),
]


@critics_app.command("evaluate")
def evaluate_command(critic: CriticOption = None) -> None:
    """Each programmatic critic's recall on its flawed known-answer cases and false-alarm rate
    on its clean ones, each with n and a Wilson 95% interval; then the cases it got wrong."""
    from rich.table import Table

    from ..critics import get_critic
    from ..critics.known_answers import evaluate_known_answers

    for name in critic or []:
        chosen = get_critic(name)  # an unknown id is one clear error line
        if chosen.kind != "programmatic":
            raise UsageError(
                f"{name} is an {chosen.kind} critic; only programmatic critics have "
                "known-answer cases (see `autoalign critics list`)"
            )
    scores = evaluate_known_answers(critics=critic)
    table = Table(header_style="bold", title="known-answer cases (Wilson 95% intervals)")
    for col in ("critic", "version", "recall (k/n)", "recall 95% CI", "false alarms (k/n)",
                "false-alarm 95% CI"):
        table.add_column(col, overflow="fold")
    for score in scores:
        table.add_row(safe(score.critic), safe(score.version), *_rate(score.recall),
                      *_rate(score.false_alarm))
    console = _console()
    console.print(table)
    for score in scores:
        for name in score.missed:
            console.print(f"missed by {safe(score.critic)}: {safe(name)}")
        for name in score.false_alarms:
            console.print(f"false alarm of {safe(score.critic)}: {safe(name)}")
