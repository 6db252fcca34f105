"""`autoalign learn curve CONFIG`: a learning curve. Rounds of new work, a new flaw type from a
known round on, labels known a few rounds later; each critic's recall on the new type per round
with intervals. Thin: it calls `autoalign.learning` and prints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .._text import safe
from ._common import DbOption, bar_columns, console, open_store, real_console, use_db
from ._learn import learn_group


def curve_command(
    config: Annotated[
        Path, typer.Argument(help="The curve's TOML config (see examples/learning-curve.toml).",
                             show_default=False)
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for curve.json, curve.md and curve.png "
                                  "(default: curve-<name>).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Run (or continue) a learning curve: in each round, new tampered and clean subjects
    arrive, a new flaw type from round t0 on; every critic judges them at its current version;
    labels become known label_delay rounds later, and the learners (the nearest-neighbour
    critic `knn`) update from them, each update a new critic version. A completed round is
    never run again. Prints each critic's versions and whether it self-corrects (the first
    round whose recall interval on the new type lies above the level), and writes curve.json
    (every point: round, critic, version, n, recall, interval), curve.md and curve.png."""
    from rich.progress import Progress

    from ..learning import (
        build_curve,
        curve_model_roles,
        load_curve_config,
        run_curve_sync,
        self_correction_text,
        write_curve,
    )
    from ..models import check_models

    parsed = load_curve_config(config)  # a bad config is one error line; nothing is written
    check_models(parsed.models, curve_model_roles(parsed))
    use_db(db)
    with open_store(create=True) as store:
        with Progress(*bar_columns(), console=real_console(console)) as bar:
            task = bar.add_task("rounds", total=parsed.rounds)
            run = run_curve_sync(
                store, parsed,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        curve = build_curve(store, parsed)
    files = write_curve(curve, out or Path(f"curve-{parsed.name}"))
    console.print(
        f"[bold]learning curve {safe(curve.name)}[/]: {len(run.rounds_run)} round(s) run, "
        f"{len(run.rounds_skipped)} already done, {run.trials_written} new trial(s); new flaw "
        f"type {safe(curve.new_flaw_type)} from round {curve.t0}, labels known "
        f"{curve.label_delay} round(s) later"
    )
    if run.critic_errors:
        console.print(f"  [yellow]{run.critic_errors} critic check(s) failed[/] (stored as "
                      "trials that flagged nothing, with the error)")
    for c in curve.critics:
        console.print(f"  {safe(c.critic)} ({c.kind}, {len(c.versions)} version(s)): "
                      f"{safe(self_correction_text(c, curve))}")
    console.print(f"wrote {safe(files.json)}, {safe(files.markdown)} and {safe(files.figure)}")


def register(app: typer.Typer) -> None:
    """Add `learn curve` to `app`."""
    learn_group(app).command("curve")(curve_command)


__all__ = ["register"]
