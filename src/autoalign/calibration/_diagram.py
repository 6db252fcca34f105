"""The reliability diagram, drawn with matplotlib's Agg canvas (no display, no pyplot state)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from ._report import CalibrationReport, calibrate

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def reliability_diagram(
    data: CalibrationReport | tuple[ArrayLike, ArrayLike],
    path: Path,
    *,
    n_bins: int = 10,
    n_boot: int = 2000,
    seed: int = 0,
) -> Path:
    """Write a reliability diagram of a report, or of `(p, y)` arrays, as a PNG at `path`.

    Top: the diagonal of perfect calibration and, per equal-mass bin, the observed frequency
    against the mean prediction with its Wilson interval as error bars. Bottom: a histogram of
    the predictions. The title gives n and the ECE with its bootstrap interval. When the report
    holds claims of more than one source (a study's formula, the pipeline's agents), each source
    gets its own curve (colour, marker and line style; its n and ECE in the legend) and its own
    colour in a stacked histogram, over a thin curve of all claims. `n_bins`, `n_boot` and
    `seed` are used only for arrays (a report carries its own).

    Raises:
        ValueError: the report scored nothing, or the arrays are not valid predictions.
    """
    # Imported here: matplotlib takes a quarter of a second to import, which every other CLI
    # command would otherwise pay. A bare Figure draws on the Agg canvas and never touches pyplot.
    from matplotlib.figure import Figure

    if isinstance(data, CalibrationReport):
        report = data
    else:
        report = calibrate(data[0], data[1], n_bins=n_bins, n_boot=n_boot, seed=seed)
    if not report.scores:
        raise ValueError("nothing to draw: the calibration report scored no predictions")
    ece = report.score("ece")

    fig = Figure(figsize=(6.4, 7.2), dpi=100, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    top.plot([0, 1], [0, 1], linestyle="--", color="0.5", label="perfect calibration")
    sources = report.groups_by("source")
    wilson = f"{len(report.bins)} equal-mass bins, Wilson {report.level:.0%}"
    if len(sources) < 2:
        _curve(top, report, label=f"observed frequency ({wilson})", style=_STYLES[0])
        bottom.hist(report.predictions, bins=_HIST_EDGES, color="C0", alpha=0.7)
    else:
        # One curve per source, each on its own bins: a formula's calibration and an agent's
        # are different questions, and the pooled curve would blur them (it is drawn thin).
        top.plot(
            [b.mean_predicted for b in report.bins],
            [b.observed_frequency for b in report.bins],
            color="0.35", linewidth=1, label=f"all claims (n = {report.n})",
        )
        for group, style in zip(sources, _STYLES, strict=False):
            g_ece = group.report.score("ece")
            _curve(
                top, group.report, style=style,
                label=f"{group.source.value}: n = {group.n}, ECE = {g_ece.value:.3f}",
            )
        bottom.hist(
            [g.report.predictions for g in sources], bins=_HIST_EDGES, stacked=True,
            color=[style[0] for style in _STYLES[: len(sources)]], alpha=0.7,
            label=[g.source.value for g in sources],
        )
        bottom.legend(loc="best", fontsize="small", framealpha=0.8)
        top.text(
            0.98, 0.02, f"each curve: {wilson}", transform=top.transAxes, ha="right",
            va="bottom", fontsize="x-small", color="0.35",
        )
    # A little room beyond [0, 1] so that bins at 0 or 1 show whole markers.
    top.set_xlim(-0.02, 1.02)
    top.set_ylim(-0.02, 1.02)
    top.set_ylabel("observed frequency of yes")
    top.legend(loc="best", fontsize="small", framealpha=0.8)
    top.set_title(
        f"Reliability: n = {report.n}, ECE = {ece.value:.3f} "
        f"[{ece.ci_low:.3f}, {ece.ci_high:.3f}] ({ece.level:.0%} bootstrap)",
        fontsize="medium",
    )
    bottom.set_xlabel("predicted probability of yes")
    bottom.set_ylabel("claims")

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


_HIST_EDGES = np.linspace(0, 1, 21)
_STYLES: tuple[tuple[str, str], ...] = (("C0", "o-"), ("C1", "s--"), ("C2", "^:"))
"""(colour, format) of each curve: a source is told apart by colour, marker and line."""


def _curve(axes: Axes, report: CalibrationReport, *, label: str, style: tuple[str, str]) -> None:
    """Observed frequency against mean prediction per bin, with Wilson error bars."""
    x = np.array([b.mean_predicted for b in report.bins])
    freq = np.array([b.observed_frequency for b in report.bins])
    # A Wilson interval always contains the observed frequency; the clip only absorbs rounding.
    err = np.clip(
        [[b.observed_frequency - b.ci_low for b in report.bins],
         [b.ci_high - b.observed_frequency for b in report.bins]],
        0.0, None,
    )
    color, fmt = style
    axes.errorbar(x, freq, yerr=err, fmt=fmt, color=color, capsize=3, label=label)
