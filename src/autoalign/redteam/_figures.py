"""The red-team report's figures, drawn on matplotlib's Agg canvas (no display, no pyplot state):
recall by flaw type with intervals, each critic's reliability diagram, the miss-correlation
heatmap and the flaw-survival funnel. File names never contain a critic's or flaw type's name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._text import clip
from ..calibration import reliability_diagram
from ._metric import Metric
from ._report import Analysis, RedteamReport
from ._survival import ALL_CRITICS

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True, kw_only=True)
class FigureFile:
    """One figure written next to the report."""

    title: str
    """What it shows (plain text; may contain critic names, so escape it when rendering)."""
    path: Path
    """The PNG."""


def label(text: str, limit: int = 40) -> str:
    """A critic's or flaw type's name as matplotlib text: one line, controls escaped, clipped,
    and `$` escaped so the name is not read as mathtext."""
    return clip(text, limit=limit).replace("$", r"\$")


def _figure(width: float, height: float) -> Figure:
    # Imported here: matplotlib takes a quarter of a second to import.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def write_figures(analysis: Analysis, folder: Path) -> list[FigureFile]:
    """Draw every figure the report has data for into `folder`; return them in report order."""
    folder.mkdir(parents=True, exist_ok=True)
    report = analysis.report
    out: list[FigureFile] = []
    if report.has("recall"):
        out.append(FigureFile(title="Recall by flaw type", path=_recall(report, folder)))
    for i, (critic, calib) in enumerate(analysis.calibration.items()):
        path = reliability_diagram(calib, folder / f"reliability-{i + 1}.png")
        out.append(FigureFile(title=f"Reliability of {critic}", path=path))
    if report.has("miss_phi"):
        out.append(FigureFile(title="Correlation of misses", path=_heatmap(report, folder)))
    if report.has("flaw_survival") or report.has("accepted_flaw_rate"):
        out.append(FigureFile(title="Flaw survival", path=_funnel(report, folder)))
    return out


def _recall(report: RedteamReport, folder: Path) -> Path:
    wilson = [
        m for m in report.metrics
        if m.name == "recall" and m.method == "wilson" and "flaw_type" in m.keys
        and "origin" not in m.keys
    ]
    types = sorted({m.keys["flaw_type"] for m in wilson})
    critics = sorted({m.keys["critic"] for m in wilson})
    fig = _figure(7.5, 1.2 + 0.35 * len(types) * max(1, len(critics)) ** 0.5 + 0.3 * len(types))
    ax = fig.subplots()
    found = {
        (m.keys["critic"], m.keys["flaw_type"]): m for m in wilson if m.interval is not None
    }
    # Each type's band holds only the critics measured on it, centred on the type's label.
    present = {t: [c for c in critics if (c, t) in found] for t in types}
    for j, critic in enumerate(critics):
        ys, xs, lo, hi = [], [], [], []
        for i, flaw_type in enumerate(types):
            m = found.get((critic, flaw_type))
            if m is None or m.interval is None:
                continue
            here = present[flaw_type]
            ys.append(i - 0.4 + 0.8 / len(here) * (here.index(critic) + 0.5))
            xs.append(m.estimate or 0.0)
            lo.append(max(0.0, (m.estimate or 0.0) - m.interval.low))
            hi.append(max(0.0, m.interval.high - (m.estimate or 0.0)))
        ax.errorbar(xs, ys, xerr=[lo, hi], fmt="o", capsize=3, color=f"C{j % 10}",
                    label=label(critic))
    for i in range(1, len(types)):
        ax.axhline(i - 0.5, color="0.85", linewidth=0.6)
    ax.set_yticks(range(len(types)), [label(t) for t in types])
    ax.set_xlim(-0.02, 1.02)
    ax.invert_yaxis()
    ax.set_xlabel(f"recall (Wilson {report.level:.0%} interval)")
    ax.set_title("Recall by flaw type", fontsize="medium")
    # Below the axes: inside, it would cover a type's intervals.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2, fontsize="small",
              frameon=False)
    path = folder / "recall.png"
    fig.savefig(path, format="png", bbox_inches="tight")
    return path


def _heatmap(report: RedteamReport, folder: Path) -> Path:
    critics = report.critics
    k = len(critics)
    values = np.full((k, k), np.nan)
    counts = np.zeros((k, k), dtype=int)
    for m in report.metrics:
        if m.name == "miss_phi" and "flaw_type" not in m.keys:
            i, j = critics.index(m.keys["critic_a"]), critics.index(m.keys["critic_b"])
            v = np.nan if m.estimate is None else m.estimate
            values[i, j] = values[j, i] = v
            counts[i, j] = counts[j, i] = m.n
    size = 2.5 + 0.8 * k
    fig = _figure(size + 1.5, size)
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(values), cmap="RdBu_r", vmin=-1, vmax=1)
    for i in range(k):
        for j in range(k):
            if i != j:
                v = values[i, j]
                text = "n/a" if np.isnan(v) else f"{v:.2f}"
                ax.text(j, i, f"{text}\nn={counts[i, j]}", ha="center", va="center",
                        fontsize="x-small", color="white" if abs(v) > 0.5 else "black")
    names = [label(c, 25) for c in critics]
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    fig.colorbar(image, ax=ax, label="phi of misses (1: always miss together)")
    ax.set_title("Correlation of misses on the same flawed subjects", fontsize="medium")
    path = folder / "miss-correlation.png"
    fig.savefig(path, format="png")
    return path


def _funnel(report: RedteamReport, folder: Path) -> Path:
    # Counts per organism with all critics; an organism without flawed papers has no survival
    # rate but still has its funnel (through its accepted flaw rate's counts).
    by_organism: dict[str, Metric] = {}
    for m in report.metrics:
        if (
            m.name in ("flaw_survival", "accepted_flaw_rate") and m.method == "wilson"
            and m.keys.get("without") == ALL_CRITICS
        ):
            by_organism.setdefault(m.keys["organism"], m)
    organisms = sorted(by_organism)
    rows = [by_organism[o] for o in organisms]
    stages = ("papers", "flawed", "flawed_accepted")
    fig = _figure(7.5, 1.5 + 0.6 * len(organisms))
    ax = fig.subplots()
    height = 0.8 / len(stages)
    for s, stage in enumerate(stages):
        ys = [i - 0.4 + height * (s + 0.5) for i in range(len(organisms))]
        xs = [float(m.detail.get(stage) or 0) for m in rows]
        ax.barh(ys, xs, height=height, label=stage.replace("_", " "))
    ax.set_yticks(range(len(organisms)), [label(o) for o in organisms])
    ax.invert_yaxis()
    ax.set_xlabel("papers")
    ax.set_title("Flaw survival: papers written, flawed, flawed and accepted (all critics)",
                 fontsize="medium")
    ax.legend(loc="best", fontsize="small", framealpha=0.8)
    path = folder / "survival.png"
    fig.savefig(path, format="png")
    return path


__all__ = ["FigureFile", "label", "write_figures"]
