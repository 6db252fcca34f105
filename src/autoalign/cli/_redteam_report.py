"""`autoalign redteam report`: the statistics of critic reliability from a red-team experiment's
trials, as JSON, Markdown and HTML with figures.

Thin: it reads its inputs, calls `autoalign.redteam.build_report` and `write_report`, and prints
a summary. The trials come from `--trials FILE` (JSON lines) or, without it, from the trial
source `register` was given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .._text import safe
from ..errors import UsageError
from ._common import DbOption, lazy_console, open_store, use_db
from ._redteam import redteam_group

if TYPE_CHECKING:
    from rich.console import Console

    from ..redteam import RedteamReport, Trial

TrialSource = Callable[[], Sequence["Trial"]]
"""Where the trials come from when `--trials` is not given (the experiment tables)."""

def register(
    app: typer.Typer,
    trials_source: TrialSource | None = None,
    *,
    console: Console | None = None,
) -> None:
    """Add `redteam report` to `app`.

    Args:
        app: the Typer app.
        trials_source: the trials to report on when `--trials` is not given; without one,
            `--trials` is required.
        console: where to print; standard output by default.
    """
    out_console = console or lazy_console(highlight=False, soft_wrap=True)
    group = redteam_group(app)

    @group.command("report")
    def report(
        trials: Annotated[
            Path | None,
            typer.Option(help="Trials as JSON lines, one trial an object (docs/redteam.md)."),
        ] = None,
        experiment: Annotated[
            str | None,
            typer.Option(metavar="NAME|ID", help="Report the trials of this red-team experiment "
                         "of the database (`autoalign redteam run`), with those of --trials "
                         "when given too."),
        ] = None,
        out: Annotated[
            Path, typer.Option(help="Folder for the JSON, Markdown, HTML and figures.")
        ] = Path("redteam-report"),
        organic: Annotated[
            Path | None,
            typer.Option(help="Organic flaws and the critics that found each (JSON lines), for "
                         "capture-recapture estimates of the flaws no critic found."),
        ] = None,
        texts: Annotated[
            Path | None,
            typer.Option(help="Injected and organic subjects' texts (JSON lines) for the "
                         "realism check."),
        ] = None,
        organisms: Annotated[
            Path | None,
            typer.Option(help="Papers of model organisms with their known flaws and the critics "
                         "that flagged them (JSON lines), for flaw survival."),
        ] = None,
        matcher: Annotated[
            str | None,
            typer.Option(help="Report only trials decided by this matcher (strict or llm)."),
        ] = None,
        figures: Annotated[
            bool, typer.Option("--figures/--no-figures", help="Draw the figures (PNG).")
        ] = True,
        level: Annotated[
            float, typer.Option(min=0.5, max=0.999, help="Coverage of every interval.")
        ] = 0.95,
        n_boot: Annotated[
            int, typer.Option("--n-boot", min=1, help="Bootstrap replicates per interval.")
        ] = 1000,
        seed: Annotated[int, typer.Option(help="Seed of every resampling.")] = 0,
        db: DbOption = None,
    ) -> None:
        """Report each critic's recall per flaw type, false alarms on clean controls,
        calibration, the correlation of misses between critics, McNemar comparisons,
        capture-recapture estimates, the realism check and flaw survival per organism, each
        with n and an interval: JSON (a versioned schema), Markdown and HTML with figures."""
        from ..redteam import (
            OrganicFlaw,
            OrganismPaper,
            TextSample,
            build_report,
            load_models,
            load_trials,
            write_report,
        )

        if trials is not None or experiment is not None:
            # Both: one report of an injection experiment and, e.g., organisms' trials.
            found = [*(_experiment_trials(experiment, db) if experiment is not None else []),
                     *(load_trials(trials) if trials is not None else [])]
        elif trials_source is not None:
            found = list(trials_source())
        else:
            raise UsageError("no trials to report on: pass --trials FILE (JSON lines of trials) "
                             "or --experiment NAME (a red-team experiment of the database)")
        analysis = build_report(
            found,
            organic=load_models(organic, OrganicFlaw) if organic else (),
            texts=load_models(texts, TextSample) if texts else (),
            organisms=load_models(organisms, OrganismPaper) if organisms else (),
            matcher=matcher,
            level=level,
            n_boot=n_boot,
            seed=seed,
        )
        try:
            files = write_report(analysis, out, figures=figures)
        except OSError as exc:
            raise UsageError(
                f"cannot write the report into {out}: {exc.strerror or exc}; pass a writable "
                "--out folder"
            ) from exc
        _summary(out_console, analysis.report)
        out_console.print(f"JSON: {safe(files.json)}")
        out_console.print(f"Markdown: {safe(files.markdown)}")
        out_console.print(f"HTML: {safe(files.html)}")
        if files.figures:
            out_console.print(f"figures: {len(files.figures)} in {safe(files.figures[0].parent)}")


def _experiment_trials(experiment: str, db: str | None) -> list[Trial]:
    """The trials of a red-team experiment of the database, by name or id."""
    from ..redteam import trials as experiment_trials

    use_db(db)
    with open_store() as store:
        record = store.redteam_experiment(int(experiment) if experiment.isdigit() else experiment)
        return experiment_trials(store, record.id)


def _summary(console: Console, report: RedteamReport) -> None:
    from rich.table import Table

    console.print(
        f"{report.n_trials} trials, {len(report.critics)} critics, {report.n_subjects} subjects "
        f"({report.n_controls} clean controls)"
    )
    rows = [m for m in report.metrics if m.name in ("recall", "false_alarm_rate")
            and m.method == "wilson"]
    if rows:
        table = Table(header_style="bold")
        for col in ("critic", "rate", "flaw type", "estimate", f"Wilson {report.level:.0%}", "n"):
            table.add_column(col, overflow="fold")
        for m in rows:
            assert m.interval is not None  # a Wilson interval exists whenever n > 0
            table.add_row(
                safe(m.keys["critic"]),
                "recall" if m.name == "recall" else "false alarms",
                safe(m.keys.get("flaw_type", "all")) if m.name == "recall" else "controls",
                f"{m.estimate:.3f}",
                f"[{m.interval.low:.3f}, {m.interval.high:.3f}]",
                str(m.n),
            )
        console.print(table)
    for section, why in report.empty.items():
        console.print(f"{section}: no data ({safe(why)})")
