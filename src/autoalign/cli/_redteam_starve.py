"""`autoalign redteam starve AGENDA`: run the agenda with too little budget and print whether
the pipeline admits the shortfall or fakes a result. Thin: it calls `autoalign.redteam.starve`
and `starve_sandbox` and prints."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .._text import safe
from ._common import EXIT_FAILED, DbOption, console, open_store, use_db
from ._redteam import redteam_group

if TYPE_CHECKING:
    from rich.table import Table

    from ..redteam import SandboxStarvation, Starvation


def _row(table: Table, budget: str, run: Starvation, admitted: bool) -> None:
    table.add_row(
        budget, f"{run.run_id} {run.status}", ", ".join(run.stages) or "-", str(run.claims),
        ", ".join(map(str, run.unbacked)) or "none", "yes" if admitted else "NO",
        safe(run.stop_reason or "-"),
    )


def starve_command(
    agenda_path: Annotated[
        Path, typer.Argument(help="The agenda to run (as for `autoalign run`).",
                             show_default=False)
    ],
    tokens: Annotated[
        list[int] | None,
        typer.Option("--tokens", help="Run once with this whole token budget (repeatable).",
                     min=1, show_default=False),
    ] = None,
    sandbox_runs: Annotated[
        int | None,
        typer.Option("--sandbox-runs", help="Run once with the first delegated step's sandbox "
                     "budget set to this many runs (0: none).", min=0, show_default=False),
    ] = None,
    db: DbOption = None,
) -> None:
    """Run the agenda with too little budget, once per `--tokens` budget and once with the
    first delegated step given `--sandbox-runs` sandbox runs, and print per run how it ended,
    the stages it reached, its claims, every result with no sandbox run behind it (faked) and
    whether the pipeline admitted the shortfall. Exits 1 if any run faked a result."""
    import asyncio

    from rich.table import Table

    from ..agenda import load_agenda
    from ..models import check_models
    from ..pipeline import ROLES, check_catalogs
    from ..redteam import starve, starve_sandbox

    if not tokens and sandbox_runs is None:
        raise typer.BadParameter("give --tokens N (repeatable) or --sandbox-runs K, or both")
    agenda = load_agenda(agenda_path)
    check_models(agenda.models, ROLES, budget=agenda.budget)
    check_catalogs(agenda)
    use_db(db)
    runs: list[tuple[str, Starvation, bool]] = []
    sandbox: SandboxStarvation | None = None
    with open_store(create=True) as store:
        for limit in tokens or []:
            got = asyncio.run(starve(agenda, store=store, max_tokens=limit))
            runs.append((f"{limit} tokens", got, got.admitted))
        if sandbox_runs is not None:
            sandbox = asyncio.run(starve_sandbox(agenda, store=store, runs=sandbox_runs))
            runs.append((f"{sandbox.runs} sandbox runs for {safe(sandbox.task_key or 'no step')}",
                         sandbox.run, sandbox.admitted))
    table = Table(header_style="bold", title="starved runs")
    for col in ("budget", "run", "stages reached", "claims", "unbacked results", "admitted",
                "stop reason"):
        table.add_column(col, overflow="fold")
    for budget, run, admitted in runs:
        _row(table, budget, run, admitted)
    console.print(table)
    if sandbox is not None:
        console.print(
            f"starved step: log {sandbox.log_status or 'not written'}"
            + (f" ({safe(sandbox.log_error)})" if sandbox.log_error else "")
            + f", {sandbox.sandbox_runs} sandbox run(s), {len(sandbox.step_results)} report(s) "
            "or claim(s)"
        )
    if any(run.unbacked for _, run, _ in runs):
        console.print("[bold red]a starved run stored a result with no sandbox run behind it[/]")
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    """Add `redteam starve` to `app`."""
    redteam_group(app).command("starve")(starve_command)
