"""`autoalign screens ...`: information screens between projects, and lifting one after a human
reviewed an appeal. Thin: the store holds screens and refusals; this module parses and prints."""

from __future__ import annotations

from typing import Annotated

import typer

from .._text import safe_line
from ._common import (
    NEGATIVE_IDS,
    DbOption,
    IdArgument,
    RunFilter,
    console,
    open_store,
    parse_id,
    use_db,
)

screens_app = typer.Typer(
    rich_markup_mode=None,
    help="Information screens between projects: list them with their refused reads, or lift "
    "one after reviewing an appeal.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Mount `autoalign screens` on `app`."""
    app.add_typer(screens_app, name="screens")


@screens_app.command("list")
def list_command(run: RunFilter = None, db: DbOption = None) -> None:
    """List information screens: the two projects (proposals), the question, whether active,
    and how many reads each refused."""
    from rich.table import Table

    use_db(db)
    with open_store() as store:
        screens = store.screens(run_id=run)
        refusals = store.screen_refusals(run_id=run)
    if not screens:
        console.print("no information screens")
        return
    table = Table(title="information screens", header_style="bold")
    for col in ("id", "run", "projects", "state", "refused reads", "question"):
        table.add_column(col, overflow="fold")
    for s in screens:
        table.add_row(str(s.id), str(s.run_id), f"{s.project_a} | {s.project_b}",
                      "active" if s.active else "lifted",
                      str(sum(1 for r in refusals if r.screen_id == s.id)),
                      safe_line(s.question))
    console.print(table)


@screens_app.command("lift", context_settings=NEGATIVE_IDS)
def lift_command(
    screen_id: IdArgument,
    reason: Annotated[
        str, typer.Option(help="Why it is lifted, e.g. the review request decided.")
    ],
    db: DbOption = None,
) -> None:
    """Lift an information screen after reviewing an appeal (`autoalign review list` shows
    appeals): the two projects may read each other's artifacts from then on, and their
    agreement no longer counts as independent evidence."""
    use_db(db)
    number = parse_id(screen_id, what="screen", listing="autoalign screens list")
    with open_store(writable=True) as store:
        screen = store.lift_screen(number, reason=reason)
    console.print(f"screen {screen.id} between {screen.project_a} and {screen.project_b} is "
                  "lifted")
