"""`autoalign rereview`: review accepted papers again with the current critics and report what
changed. Thin: it calls `autoalign.pipeline.rereview` and prints."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .._text import safe
from ._common import DbOption, console, open_store, use_db

if TYPE_CHECKING:
    from ..pipeline import RereviewReport

SampleOption = Annotated[
    int,
    typer.Option("--sample", min=0, max=1000, metavar="K",
                 help="Accepted papers drawn at random (besides those open requests name)."),
]
SeedOption = Annotated[
    int, typer.Option("--seed", min=0, metavar="S", help="Seed of the random draw.")
]


def print_report(report: RereviewReport) -> None:
    """Print what a re-review changed, one line per paper."""
    if not report.reviewed:
        console.print("no paper to re-review (no open request and no accepted paper)")
        return
    changed = [r for r in report.reviewed if r.changed]
    console.print(
        f"[bold]re-review run {report.run_id}[/]: {len(report.reviewed)} paper(s), "
        f"{len(changed)} changed; {len(report.requests)} request(s) acted on"
    )
    for r in report.reviewed:
        mark = "[yellow]changed[/]" if r.changed else "unchanged"
        console.print(
            f"  paper {r.paper_id}: {mark}; critic-2 {safe(r.before or '-')} → "
            f"{safe(r.after or 'no valid critique')}; {len(r.new_flaws)} new flaw(s)"
            + (f" ({', '.join(map(str, r.new_flaws))})" if r.new_flaws else "")
        )
    if any(r.after is not None and r.after != r.before for r in report.reviewed):
        console.print("a changed decision opened a review request: `autoalign review list`")


def rereview(
    sample: SampleOption = 3,
    seed: SeedOption = 0,
    agenda_path: Annotated[
        Path | None,
        typer.Option("--agenda", metavar="AGENDA",
                     help="Ask the models this agenda names (default: each paper's own run's)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Re-review papers with the current critics (critic #2 as the write-up runs it: the
    programmatic checks, then babble and prune) and report what changed: new flaws and changed
    decisions, stored as `rereview` records. Papers named by open re-review requests (critic
    #3, a rollback's policy) come first, then a random sample of accepted papers."""
    from ..agenda import load_agenda
    from ..pipeline import rereview_sync

    use_db(db)
    agenda = load_agenda(agenda_path) if agenda_path is not None else None
    with open_store() as store:
        print_report(rereview_sync(store, sample=sample, seed=seed, agenda=agenda))


def register(app: typer.Typer) -> None:
    """Add `rereview` to `app`."""
    app.command()(rereview)
