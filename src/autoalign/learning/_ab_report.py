"""The report of an A/B experiment (`autoalign ab report`): built from the stored outcomes, as
JSON, Markdown and, with a folder, a figure of the correct rate per flaw type and arm.

Every string that came from a config, a critic or the database is escaped where it is shown.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..calibration import Interval, wilson_interval
from ..redteam import md_text
from ..store import Store
from ._ab_run import ARMS, pairs
from ._ab_stats import (
    BrierDifference,
    PairedDifference,
    SequentialResult,
    brier_difference,
    mixture_sprt,
    paired_difference,
)

CONTROLS = "controls"
"""The row name of the clean controls in the per-flaw-type table."""


@dataclass(frozen=True, kw_only=True)
class ArmSummary:
    """What one arm ran."""

    critics: list[str]
    """`<critic id>@<version>` the arm's outcomes name (one unless the critic changed)."""
    view: str
    """The view its critic saw subjects through."""
    first: int
    """Finished tasks on which this arm ran first."""


@dataclass(frozen=True, kw_only=True)
class FlawTypeRow:
    """The paired comparison on one flaw type (or the controls)."""

    flaw_type: str
    """The flaw type, or `controls`."""
    difference: PairedDifference
    """B - A in correct rate on its tasks."""


@dataclass(kw_only=True)
class AbReport:
    """An A/B experiment's results."""

    name: str
    experiment_id: int
    status: str
    """`running`, `completed`, `stopped` (by the sequential test) or `failed`."""
    seed: int
    config_digest: str
    tasks: int
    """Tasks the config makes."""
    finished: int
    """Tasks with both arms' outcomes."""
    arms: dict[str, ArmSummary]
    difference: PairedDifference | None
    """B - A over every finished task."""
    brier: BrierDifference | None
    """B - A in Brier score where both arms stated a probability."""
    by_flaw_type: list[FlawTypeRow]
    sequential: SequentialResult | None
    """The mixture SPRT over the finished tasks, when the config enabled it."""
    errors: dict[str, int] = field(default_factory=dict)
    """Per arm, checks that raised (counted as flagging nothing)."""
    notes: list[str] = field(default_factory=list)
    """What to keep in mind when reading the numbers."""

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return asdict(self)


def build_ab_report(store: Store, name_or_id: str | int) -> AbReport:
    """The report of the A/B experiment `name_or_id`.

    Raises:
        DataError: there is no such experiment.
    """
    experiment = store.ab_experiment(name_or_id)
    outcomes = store.ab_outcomes(experiment.id)
    got = pairs(outcomes)
    done = {p.task for p in got}
    config = experiment.config
    arms = {}
    for arm in ARMS:
        mine = [o for o in outcomes if o.arm == arm]
        arms[arm] = ArmSummary(
            critics=sorted({o.critic for o in mine}),
            view=str(config.get(arm.lower(), {}).get("view", "full")),
            first=sum(1 for o in mine if o.position == 0 and o.task_key in done),
        )
    types = sorted({p.flaw_type for p in got if p.flaw_type is not None})
    rows = [FlawTypeRow(flaw_type=t, difference=paired_difference(
        [p for p in got if p.flaw_type == t])) for t in types]
    controls = [p for p in got if p.flaw_type is None]
    if controls:
        rows.append(FlawTypeRow(flaw_type=CONTROLS, difference=paired_difference(controls)))
    sequential = (mixture_sprt([(p.a_correct, p.b_correct) for p in got],
                               alpha=float(config.get("alpha", 0.05)))
                  if config.get("sequential") else None)
    report = AbReport(
        name=experiment.name, experiment_id=experiment.id, status=experiment.status,
        seed=experiment.seed, config_digest=experiment.config_digest, tasks=experiment.tasks,
        finished=len(got), arms=arms, difference=paired_difference(got) if got else None,
        brier=brier_difference(got, seed=experiment.seed), by_flaw_type=rows,
        sequential=sequential,
        errors={arm: sum(1 for o in outcomes if o.arm == arm and o.error is not None)
                for arm in ARMS},
    )
    report.notes = _notes(report)
    return report


def _notes(report: AbReport) -> list[str]:
    notes = []
    if report.status == "stopped":
        notes.append(
            "The sequential test stopped the experiment: its decision keeps the type-I error "
            "at alpha, but the interval and McNemar's p below are fixed-n quantities and are "
            "optimistic after an early stop."
        )
    if report.difference is not None and report.difference.discordant < 10:
        notes.append(f"Only {report.difference.discordant} discordant task(s): McNemar's test "
                     "has little power, and a large p is not evidence that the arms are equal.")
    if report.finished < report.tasks and report.status != "stopped":
        notes.append(f"{report.tasks - report.finished} task(s) not finished yet.")
    if any(report.errors.values()):
        notes.append("Some critic checks raised; they count as flagging nothing.")
    return notes


def _ci(interval: Interval | None) -> str:
    return "n/a" if interval is None else f"[{interval.low:+.3f}, {interval.high:+.3f}]"


def _rate(interval: Interval, correct: int, n: int) -> str:
    return f"{correct}/{n} [{interval.low:.2f}, {interval.high:.2f}]"


def ab_markdown(report: AbReport, *, figure: str | None = None) -> str:
    """The report as Markdown; every string from data escaped."""
    lines = [f"# A/B experiment {md_text(report.name)}", ""]
    lines.append(f"Status {md_text(report.status)}; {report.finished} of {report.tasks} task(s) "
                 f"finished under both arms; seed {report.seed}; config digest "
                 f"`{md_text(report.config_digest[:12])}`.")
    lines += ["", "| arm | critic | view | ran first on | errors |", "|---|---|---|---|---|"]
    for arm, summary in report.arms.items():
        lines.append(f"| {arm} | {md_text(', '.join(summary.critics) or '-')} | "
                     f"{md_text(summary.view)} | {summary.first} task(s) | "
                     f"{report.errors.get(arm, 0)} |")
    d = report.difference
    lines += ["", "## Correct rate, paired", ""]
    if d is None:
        lines.append("No task is finished under both arms yet.")
    else:
        lines += [
            f"- n = {d.n} task(s); A correct {_rate(d.a_rate, d.both + d.a_only, d.n)}, "
            f"B correct {_rate(d.b_rate, d.both + d.b_only, d.n)} (Wilson 95%).",
            f"- Discordant: {d.a_only} only A right, {d.b_only} only B right "
            f"({d.both} both, {d.neither} neither).",
            f"- B - A = {d.difference:+.3f}, 95% interval {_ci(d.interval)} (Newcombe's hybrid "
            "score interval for paired proportions).",
            f"- McNemar's exact test: p = {d.mcnemar_p:.4g}.",
        ]
    lines += ["", "## Per flaw type", ""]
    if report.by_flaw_type:
        lines += ["| flaw type | n | A correct | B correct | only A | only B | B - A | 95% CI "
                  "| McNemar p |", "|---|---|---|---|---|---|---|---|---|"]
        for row in report.by_flaw_type:
            r = row.difference
            lines.append(
                f"| {md_text(row.flaw_type)} | {r.n} | {r.both + r.a_only} | "
                f"{r.both + r.b_only} | {r.a_only} | {r.b_only} | {r.difference:+.3f} | "
                f"{_ci(r.interval)} | {r.mcnemar_p:.4g} |")
    else:
        lines.append("No finished task.")
    lines += ["", "## Stated probabilities", ""]
    b = report.brier
    if b is None:
        lines.append("No task where both arms stated a probability of a severe flaw.")
    else:
        lines += [f"- n = {b.n} task(s); Brier A {b.a_brier:.4f}, B {b.b_brier:.4f}.",
                  f"- B - A = {b.difference:+.4f}, 95% paired bootstrap interval "
                  f"{_ci(b.interval)} (negative: B better).",
                  f"- Wilcoxon signed-rank test: p = {b.wilcoxon_p:.4g}."]
    lines += ["", "## Sequential test", ""]
    s = report.sequential
    if s is None:
        lines.append("Not enabled (`sequential = false`): the experiment ran every task.")
    else:
        where = (f"stopped after task {s.stopped_after}" if s.stopped
                 else "did not stop")
        lines.append(f"Mixture SPRT on discordant pairs at alpha = {s.alpha:g}: {where}; "
                     f"likelihood ratio {s.likelihood_ratio:.3g} (threshold "
                     f"{1 / s.alpha:.3g}) after {s.discordant} discordant pair(s), "
                     f"{s.b_wins} favouring B.")
    if figure is not None:
        lines += ["", f"![Correct rate per flaw type and arm]({md_text(figure)})"]
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report.notes]  # fixed text
    return "\n".join(lines) + "\n"


def write_ab_figure(report: AbReport, path: Path) -> Path | None:
    """Draw the correct rate per flaw type (and controls) for each arm with Wilson 95%
    intervals into `path` (PNG, matplotlib's Agg canvas); None when there is nothing to draw."""
    if not report.by_flaw_type:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..redteam._figures import label

    rows = report.by_flaw_type
    fig = Figure(figsize=(7.0, 0.45 * len(rows) + 1.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for offset, arm, colour in ((-0.15, "A", "tab:blue"), (0.15, "B", "tab:orange")):
        for i, row in enumerate(rows):
            r = row.difference
            k = r.both + (r.a_only if arm == "A" else r.b_only)
            ci = wilson_interval(k, r.n)
            ax.errorbar([k / r.n], [i + offset], xerr=[[k / r.n - ci.low], [ci.high - k / r.n]],
                        fmt="o", color=colour, capsize=3,
                        label=f"arm {arm}" if i == 0 else None)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{label(r.flaw_type)} (n={r.difference.n})" for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("correct rate (Wilson 95% interval)")
    ax.set_title(label(f"A/B {report.name}", limit=60))
    fig.legend(loc="outside lower center", ncols=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


FIGURE_NAME = "ab-correct-by-flaw-type.png"
"""The figure's file name (never a critic's or flaw type's name)."""


def write_ab_report(report: AbReport, folder: Path) -> list[Path]:
    """Write `ab-report.json`, `ab-report.md` and the figure into `folder`; the files."""
    folder.mkdir(parents=True, exist_ok=True)
    figure = write_ab_figure(report, folder / FIGURE_NAME)
    out = folder / "ab-report.json"
    out.write_text(json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n")
    md = folder / "ab-report.md"
    md.write_text(ab_markdown(report, figure=FIGURE_NAME if figure is not None else None))
    return [out, md, *([figure] if figure is not None else [])]


__all__ = ["CONTROLS", "FIGURE_NAME", "AbReport", "ArmSummary", "FlawTypeRow", "ab_markdown",
           "build_ab_report", "write_ab_figure", "write_ab_report"]
