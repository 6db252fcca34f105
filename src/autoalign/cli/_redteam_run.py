"""`autoalign redteam run CONFIG`: red-team the critics. It injects known flaws into clean
subjects, runs the chosen critics and stores one trial per (subject, critic, matcher). Thin: it
calls `autoalign.redteam` and prints."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .._text import safe
from ._common import DbOption, console, err, open_store, use_db
from ._redteam import redteam_group

if TYPE_CHECKING:
    from ..redteam import ExperimentSummary


def _print(summary: ExperimentSummary) -> None:
    from rich.table import Table

    console.print(
        f"[bold]red-team experiment {safe(summary.name)}[/] (id {summary.experiment_id}): "
        f"{summary.trials_written} new trial(s)"
    )
    short = {k: v for k, v in summary.made.items() if v < summary.requested.get(k, 0)}
    for key, made in short.items():
        console.print(f"  {safe(key)}: {made} distinct injection(s) of "
                      f"{summary.requested[key]} asked for")
    if summary.critic_errors:
        console.print(f"  [yellow]{summary.critic_errors} critic check(s) failed[/] (stored as "
                      "trials that flagged nothing, with the error)")
    table = Table(header_style="bold",
                  title="detected / n per critic and flaw type (Wilson 95% interval)")
    for col in ("critic", "flaw type", "matcher", "detected / n", "95% CI"):
        table.add_column(col, overflow="fold")
    for t in summary.tallies:
        ci = t.interval
        table.add_row(
            safe(t.critic), "controls (false alarms)" if t.flaw_type is None else safe(t.flaw_type),
            t.matcher, f"{t.detected}/{t.n}", f"[{ci.low:.2f}, {ci.high:.2f}]",
        )
    console.print(table)
    if summary.adjudications:
        console.print(f"{len(summary.adjudications)} flagged control(s) from the database await "
                      "a human: clean (a false alarm) or a real flaw? (`autoalign review list`)")
    if summary.agreement is not None:
        agree, n = summary.agreement
        console.print(f"LLM matcher agrees with the strict matcher on {agree}/{n} trial(s) on "
                      "injected subjects")


def run_command(
    config: Annotated[
        Path, typer.Argument(help="The experiment's TOML config (see examples/redteam.toml).",
                             show_default=False)
    ],
    quiet: Annotated[
        bool, typer.Option("--quiet", help="Do not print a line per subject checked.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Run (or continue) a red-team experiment: sample clean subjects, inject each chosen flaw
    type, keep clean controls, run the chosen critics on every subject, match their findings
    to the injected flaw, and store one trial per (subject, critic, matcher). Re-running the
    same config continues it and repeats nothing. Prints detected / n per critic and flaw
    type with a Wilson 95% interval."""
    from ..models import check_models
    from ..redteam import load_config, model_roles, run_experiment_sync

    parsed = load_config(config)  # a bad config is one error line; nothing is written
    check_models(parsed.models, model_roles(parsed))
    use_db(db)
    with open_store(create=True) as store:
        summary = run_experiment_sync(
            store, parsed, progress=None if quiet else (lambda line: err.print(safe(line))),
        )
        _print(summary)
        from ._case import print_case_changes

        print_case_changes(store, console)  # the registered safety cases, re-evaluated


def register(app: typer.Typer) -> None:
    """Add `redteam run` to `app`."""
    redteam_group(app).command("run")(run_command)


__all__ = ["register"]
