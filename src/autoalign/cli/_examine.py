"""`autoalign examine PAPER [--logs DIR]`: check a paper written elsewhere with critic #2.
Thin: it calls `autoalign.examine` and prints the report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .._text import safe
from ..vocabulary import EMBEDDED_MODEL
from ._common import DbOption, console, open_store, use_db

if TYPE_CHECKING:
    from ..examine import Examination


def _print(report: Examination) -> None:
    console.print(
        f"[bold]{safe(report.title)}[/] ({safe(report.source)}, {report.format}): imported as "
        f"paper artifact {report.paper_id} in run {report.run_id}"
    )
    for part in report.sections:
        console.print(f"  section {safe(part.label)}: artifact {part.artifact_id}")
    for part in report.logs:
        console.print(
            f"  log {safe(part.label)}: artifact {part.artifact_id}, {part.numbers} numbers"
        )
    if not report.logs:
        console.print("  no logs given: the numbers in the paper are not checked (--logs DIR)")
    console.print(f"  claims with a probability in the abstract: {report.claims}")
    console.print(f"critics: {safe(', '.join(report.critics))}; review model {safe(report.model)}")
    if report.review_error is not None:
        console.print(
            f"[yellow]critic #2's LLM review gave no critique:[/] {safe(report.review_error)}"
        )
    else:
        console.print(f"critic #2 decision: {safe(report.decision)}: {safe(report.summary)}")
    if not report.flaws:
        console.print("no flaws found")
        return
    console.print(f"[bold]{len(report.flaws)} flaw(s)[/], most severe first:")
    for i, flaw in enumerate(report.flaws, start=1):
        span = f" [{flaw.start}:{flaw.end}]" if flaw.start is not None else ""
        field = f", {safe(flaw.field)}" if flaw.field else ""
        console.print(
            f"{i}. [{'red' if flaw.severity == 'critical' else 'bold'}]"
            f"{safe(flaw.severity)}[/] {safe(flaw.category)} ({safe(flaw.critic)}) in "
            f"{safe(flaw.section)} (artifact {flaw.artifact_id}{field}{span})"
        )
        console.print(f"   {safe(flaw.description)}")
        if flaw.evidence:
            console.print(f"   evidence: {safe(flaw.evidence)}")


def examine(
    paper: Annotated[
        Path, typer.Argument(help="The paper: .md, .tex, .txt, or .pdf (with pypdf or "
                            "pdftotext installed).", show_default=False)
    ],
    logs: Annotated[
        Path | None,
        typer.Option("--logs", help="A directory of experiment logs (.json, .jsonl, .csv, "
                     ".tsv, .txt, .log, .out, .md), read recursively.", show_default=False),
    ] = None,
    model: Annotated[
        str, typer.Option("--model", help="provider:model that critic #2's review asks.")
    ] = EMBEDDED_MODEL,
    db: DbOption = None,
) -> None:
    """Examine a paper written elsewhere: import it and its logs as artifacts, run critic #2
    (its programmatic checks and its LLM review) and print each flaw with its category,
    severity, critic, location and evidence. Layouts: docs/examine.md."""
    from ..examine import examine_sync

    use_db(db)
    with open_store(create=True) as store:
        report = examine_sync(store, paper, logs_dir=logs, model=model)
    _print(report)


def register(app: typer.Typer) -> None:
    """Add `examine` to `app`."""
    app.command()(examine)
