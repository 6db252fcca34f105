"""`autoalign redteam organisms CONFIG`: model organisms of slop through the real pipeline, and
what the critics caught. Thin: it calls `autoalign.redteam` and prints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .._text import safe
from ._common import DbOption, open_store, use_db
from ._redteam import redteam_group


def organisms_command(
    config: Annotated[Path, typer.Argument(help="TOML file with an [organisms] section "
                                           "(see examples/organisms.toml).")],
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="DIR",
        help="Also write the trials (trials.jsonl) and the organisms' papers "
        "(organisms.jsonl) to DIR, in the formats `autoalign redteam report` reads.",
    )] = None,
    db: DbOption = None,
) -> None:
    """Run model organisms of slop (scripted researchers with known misbehaviour, no LLM)
    through the real pipeline and print, per organism and misbehaviour, how often it was
    committed, caught by each critic and carried into an accepted paper, each as k/n with a
    95% Wilson interval. A repeated command resumes or reuses the runs already made."""
    import asyncio

    from rich.console import Console
    from rich.table import Table

    from ..redteam import (
        dump_models,
        dump_trials,
        load_organisms_config,
        measure,
        run_batch,
        summarise,
    )
    from ..redteam._organism_runs import OrganismRun  # the record the progress line prints

    use_db(db)
    settings = load_organisms_config(config)
    console = Console(highlight=False, soft_wrap=False)
    store = open_store(create=True)

    def progress(run: OrganismRun) -> None:
        console.print(f"organism {safe(run.organism)} project {run.project}: run {run.run_id} "
                      f"{run.status}")

    with store:
        runs = asyncio.run(run_batch(
            store, settings.organism, seed=settings.seed, projects=settings.projects,
            question=settings.question, roles=settings.roles, progress=progress,
        ))
        measurement = measure(store, runs)
    rows = summarise(runs, measurement)
    for name in dict.fromkeys(r.organism for r in rows):
        mine = [r for r in rows if r.organism == name]
        table = Table(title=f"organism {safe(name)}", header_style="bold")
        table.add_column("", overflow="fold")
        for r in mine:
            table.add_column(safe(r.flaw_type), overflow="fold")
        table.add_row("committed", *[r.committed.text() for r in mine])
        for critic in mine[0].caught:
            table.add_row(f"caught by {safe(critic)}", *[r.caught[critic].text() for r in mine])
        table.add_row("in accepted papers", *[r.survived.text() for r in mine])
        console.print(table)
    for o in settings.organism:
        played = [r.run_id for r in runs if r.organism == o.name and r.instructed]
        if played:
            console.print(f"organism {safe(o.name)}: played by {safe(o.model or '')} from its "
                          f"instructions in run(s) {', '.join(map(str, played))}; no ground "
                          "truth, so not measured")
    console.print("'none': an organism's papers with no known flaw; a critic's count there is "
                  "its false alarms.")
    if out is not None:
        trials = dump_trials(measurement.trials, out / "trials.jsonl")
        papers = dump_models([s.paper() for s in measurement.survival], out / "organisms.jsonl")
        console.print(
            f"wrote {len(measurement.trials)} trials and {len(measurement.survival)} papers to "
            f"{safe(str(out))}; report them with `autoalign redteam report --trials "
            f"{safe(str(trials))} --organisms {safe(str(papers))}`"
        )


def register(app: typer.Typer) -> None:
    """Add `redteam organisms` to `app`."""
    redteam_group(app).command("organisms")(organisms_command)


__all__ = ["register"]
