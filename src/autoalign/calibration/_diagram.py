"""The reliability diagram, drawn with matplotlib's Agg canvas (no display, no pyplot state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from ._report import CalibrationReport, calibrate


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
    the predictions. The title gives n and the ECE with its bootstrap interval. `n_bins`,
    `n_boot` and `seed` are used only for arrays (a report carries its own).

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
    x = np.array([b.mean_predicted for b in report.bins])
    freq = np.array([b.observed_frequency for b in report.bins])
    # A Wilson interval always contains the observed frequency; the clip only absorbs rounding.
    err = np.clip(
        [[b.observed_frequency - b.ci_low for b in report.bins],
         [b.ci_high - b.observed_frequency for b in report.bins]],
        0.0, None,
    )
    top.errorbar(
        x, freq, yerr=err, fmt="o-", color="C0", capsize=3,
        label=f"observed frequency ({len(report.bins)} equal-mass bins, "
        f"Wilson {report.level:.0%})",
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
    bottom.hist(report.predictions, bins=np.linspace(0, 1, 21), color="C0", alpha=0.7)
    bottom.set_xlabel("predicted probability of yes")
    bottom.set_ylabel("claims")

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
