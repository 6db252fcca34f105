"""`autoalign redteam pipeline AGENDA`: inject a flaw at each of several points of a running
pipeline and print where downstream it was caught. Thin: it calls
`autoalign.redteam.run_injection_points` and prints."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .._text import safe
from ._common import DbOption, console, open_store, use_db
from ._redteam import redteam_group

if TYPE_CHECKING:
    from ..redteam import PipelineInjection


def _print(result: PipelineInjection, name: str) -> None:
    from rich.table import Table

    control = result.control
    console.print(
        f"[bold]pipeline injection {safe(name)}[/] (experiment {result.experiment_id}): control "
        f"run {control.run_id} {control.run_status}, paper {control.paper_status or 'none'}"
    )
    table = Table(header_style="bold", title="one run per injection point")
    for col in ("point", "flaw type", "run", "step tampered", "caught by", "at stage",
                "paper"):
        table.add_column(col, overflow="fold")
    for o in result.outcomes:
        table.add_row(
            o.point, o.flaw_type, f"{o.run_id} {o.run_status}",
            safe(o.step_key) if o.step_key else "not reached",
            ", ".join(safe(c) for c in o.caught_by) or "-",
            ", ".join(o.caught_at) or "-", o.paper_status or "none",
        )
    console.print(table)
    flawed = sum(1 for t in result.trials if t.flaw_type is not None)
    console.print(f"{flawed} trial(s) on tampered runs (method pipeline) and "
                  f"{len(result.trials) - flawed} on the clean control stored; "
                  f"`autoalign redteam report --experiment {safe(name)}` reads them")


def pipeline_command(
    agenda_path: Annotated[
        Path, typer.Argument(help="The agenda to run (as for `autoalign run`).",
                             show_default=False)
    ],
    name: Annotated[
        str, typer.Option("--name", help="The red-team experiment to store the injections and "
                          "trials under; running it again reports it and repeats nothing.")
    ] = "pipeline",
    seed: Annotated[int, typer.Option("--seed", help="Seeds every injection's edit.")] = 0,
    db: DbOption = None,
) -> None:
    """Run the agenda once clean and once per injection point (the step log, the worker's step
    report, the interpretation, the paper's main text), tampering with that point's step
    through a post-step hook, and print per point which critics flagged a flaw of the injected
    type's category on the tampered artifact or its descendants, at which stage, and the
    paper's final status. The injections and one trial per critic and run are stored in the
    red-team tables, which no critic reads."""
    import asyncio

    from ..agenda import load_agenda
    from ..models import check_models
    from ..pipeline import ROLES, check_catalogs
    from ..redteam import run_injection_points

    agenda = load_agenda(agenda_path)
    check_models(agenda.models, ROLES, budget=agenda.budget)
    check_catalogs(agenda)
    use_db(db)
    with open_store(create=True) as store:
        result = asyncio.run(run_injection_points(agenda, store=store, name=name, seed=seed))
    _print(result, name)


def register(app: typer.Typer) -> None:
    """Add `redteam pipeline` to `app`."""
    redteam_group(app).command("pipeline")(pipeline_command)
