"""`autoalign calibration`: score the database's claims against testbed ground truth.

Thin: it calls `autoalign.calibration` and prints. `register` mounts the command on an app; the
store factory defaults to the CLI's (`--db` before or after the command, else `$AUTOALIGN_DB`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .._text import safe, safe_line
from ._common import DbOption, lazy_console, open_store, use_db

if TYPE_CHECKING:
    from rich.console import Console

    from ..calibration import CalibrationReport, GroupBy, Score, SkipReason, TruthFor
    from ..store import Store
    from ..testbeds import Truth

_STAT_NAMES = {"brier": "Brier score", "log_loss": "log loss", "ece": "ECE (equal-mass)"}
_SKIP_WHY: dict[SkipReason, str] = {
    "no_question": "without a testbed question",
    "no_probability": "without a probability",
    "bad_probability": "with a probability outside [0, 1]",
    "unknown_testbed": "about a testbed without ground truth",
    "unknown_question": "about a question missing from its testbed's ground truth",
}


def ground_truth_with_progress(testbed: str, /) -> Sequence[Truth]:
    """The testbed's cached ground truth; computing it (the first time) draws a progress bar on
    stderr."""
    from ..testbeds import ground_truth

    return ground_truth(testbed, progress=True)


def register(
    app: typer.Typer,
    store_factory: Callable[[], Store] | None = None,
    *,
    truth_for: TruthFor = ground_truth_with_progress,
    console: Console | None = None,
) -> None:
    """Add the `calibration` command to `app`.

    Args:
        app: the Typer app to add the command to.
        store_factory: opens the research database; by default the CLI's (`--db`, else
            `$AUTOALIGN_DB`).
        truth_for: ground truth of a testbed by name; the testbeds' cached ground truth (computed
            with a progress bar the first time) unless a test substitutes its own.
        console: where to print; standard output by default.
    """
    out_console = console or lazy_console(highlight=False, soft_wrap=True)
    factory = store_factory or open_store

    @app.command("calibration")
    def calibration(
        out: Annotated[
            Path, typer.Option(help="Where to write the reliability diagram (PNG).")
        ] = Path("calibration.png"),
        bins: Annotated[
            int, typer.Option(min=1, help="Equal-mass bins for the ECE and the diagram.")
        ] = 10,
        n_boot: Annotated[
            int, typer.Option("--n-boot", min=1, help="Bootstrap replicates per interval.")
        ] = 2000,
        seed: Annotated[int, typer.Option(help="Seed of the bootstrap resampling.")] = 0,
        db: DbOption = None,
    ) -> None:
        """Score every claim that has ground truth: Brier score, log loss, ECE and a reliability
        diagram, each with a 95% bootstrap interval and n, overall and then separately by
        source (study formula, pipeline agents) and by model."""
        from ..calibration import reliability_diagram, score_claims

        use_db(db)
        with factory() as store:
            report = score_claims(
                store, truth_for=truth_for, n_bins=bins, n_boot=n_boot, seed=seed
            )
        if not report.scores:
            out_console.print(
                "no claims with ground truth to score: a claim needs a testbed, a question id "
                "and a probability, and its testbed needs ground truth"
            )
            _print_report(out_console, report)
            return
        _print_report(out_console, report)
        try:
            reliability_diagram(report, out)
        except OSError as exc:
            raise typer.BadParameter(
                f"cannot write {out}: {exc.strerror or exc}; pass a writable path",
                param_hint="--out",
            ) from exc
        out_console.print(f"reliability diagram: {safe(str(out))}")


def _print_report(console: Console, report: CalibrationReport) -> None:
    from rich.table import Table

    from ..calibration import MIN_N_FOR_INTERVAL

    if report.scores:
        level = f"{report.level:.0%}"
        table = Table(header_style="bold")
        table.add_column("statistic")
        table.add_column("value", justify="right")
        table.add_column(f"{level} CI", justify="right")
        table.add_column("n", justify="right")
        for s in report.scores:
            table.add_row(_STAT_NAMES[s.statistic], f"{s.value:.4f}", _interval(s), str(s.n))
        console.print(table)
        _print_groups(console, report, "source")
        _print_groups(console, report, "model")
        console.print(
            f"intervals: percentile bootstrap over claims, {report.n_boot} replicates, "
            f"seed {report.seed}; claims are treated as independent; none is given for a group "
            f"of fewer than {MIN_N_FOR_INTERVAL} claims"
        )
    console.print(f"claims scored: {report.n}")
    counts = report.skipped_counts()
    console.print(f"claims skipped: {len(report.skipped)}")
    for reason, count in counts.items():
        console.print(f"  {count} {'claim' if count == 1 else 'claims'} {_SKIP_WHY[reason]}")
    details = sorted(
        {s.detail for s in report.skipped if s.reason in ("unknown_testbed", "unknown_question")}
    )
    for detail in details[:10]:
        console.print(f"    {safe(detail)}")
    if len(details) > 10:
        console.print(f"    ... and {len(details) - 10} more")


def _interval(score: Score) -> str:
    from ..calibration import MIN_N_FOR_INTERVAL

    if not score.has_interval:
        return f"n/a (n < {MIN_N_FOR_INTERVAL})"
    return safe(f"[{score.ci_low:.4f}, {score.ci_high:.4f}]")


def _print_groups(console: Console, report: CalibrationReport, by: GroupBy) -> None:
    """A table of the groups cut `by` source or by model: each calibrated on its claims alone."""
    from rich.table import Table

    groups = report.groups_by(by)
    if not groups:
        return
    level = f"{report.level:.0%}"
    table = Table(
        title=f"by {'source' if by == 'source' else 'source and model'}",
        title_justify="left",
        header_style="bold",
    )
    table.add_column("source")
    table.add_column("model")
    table.add_column("n", justify="right")
    for name in ("Brier", "log loss", "ECE"):
        table.add_column(f"{name} [{level} CI]", justify="right")
    for group in groups:
        if by == "source":
            model = "all"
        else:
            model = "(none)" if group.model is None else safe_line(group.model)
        table.add_row(
            group.source.value,
            model,
            str(group.n),
            *(f"{s.value:.4f} {_interval(s)}" for s in group.report.scores),
        )
    console.print(table)
