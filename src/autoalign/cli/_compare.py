"""`autoalign compare ...`: human comparisons of two topics' positive cases. Thin:
`autoalign.review` checks and stores them; stage 1 counts them in its allocation."""

from __future__ import annotations

from typing import Annotated

import typer

from .._environment import REVIEWER_ENV_VAR
from .._text import safe_line
from ._common import NEGATIVE_IDS, DbOption, IdArgument, console, open_store, parse_id, use_db

compare_app = typer.Typer(
    rich_markup_mode=None,
    help="Human comparisons of positive cases: say which of two topics' cases is better; "
    "stage 1's allocation counts them with the agenda's human_weight.",
    no_args_is_help=True,
)

LISTING = "autoalign compare list RUN_ID"


def register(app: typer.Typer) -> None:
    """Mount `autoalign compare` on `app`."""
    app.add_typer(compare_app, name="compare")


@compare_app.command("list", context_settings=NEGATIVE_IDS)
def list_command(run_id: IdArgument, db: DbOption = None) -> None:
    """List a run's positive cases by topic (the ids to compare) and every human comparison
    recorded so far."""
    from ..review import human_comparisons, run_cases

    use_db(db)
    number = parse_id(run_id, what="run", listing="autoalign show runs")
    with open_store() as store:
        topics = run_cases(store, number)
        done = human_comparisons(store)
    if not topics:
        console.print(f"run {number} has no positive cases")
    for group in topics:
        console.print(f"[bold]{safe_line(group.topic)}[/]")
        for case in group.cases:
            console.print(f"  {case.id}  {safe_line(case.preview)[:100]}")
    console.print(f"{len(done)} human comparison(s) recorded")
    for j in done:
        console.print(
            f"  {j.artifact_id} vs {j.other_artifact_id}: {j.decision} "
            f"({safe_line(j.reviewer or '?')})"
        )


@compare_app.command("add", context_settings=NEGATIVE_IDS)
def add_command(
    first: IdArgument,
    second: IdArgument,
    better: Annotated[
        str, typer.Option(help="Which case is better: first, second or tie.")
    ],
    reviewer: Annotated[
        str | None,
        typer.Option(envvar=REVIEWER_ENV_VAR, help="Who compares (default: "
                     f"${REVIEWER_ENV_VAR}).", show_default=False),
    ] = None,
    comment: Annotated[str, typer.Option(help="Why, in a sentence or two.")] = "",
    db: DbOption = None,
) -> None:
    """Record that FIRST or SECOND (two positive cases of different topics) is the better
    case, or a tie; stored with the reviewer and the time."""
    from ..errors import UsageError
    from ..review import Better, add_comparison

    use_db(db)
    choices: dict[str, Better] = {"first": "first", "second": "second", "tie": "tie"}
    if better not in choices:
        raise UsageError(f"--better must be first, second or tie, got {better!r}")
    a = parse_id(first, what="positive case", listing=LISTING)
    b = parse_id(second, what="positive case", listing=LISTING)
    with open_store(writable=True) as store:
        row = add_comparison(
            store, a, b, better=choices[better], reviewer=reviewer, comment=comment,
        )
    console.print(
        f"comparison {row.id}: {a} vs {b}, {better} is better, by "
        f"{safe_line(row.reviewer or '')}"
    )
