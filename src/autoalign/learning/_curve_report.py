"""A learning curve rebuilt from the database (`build_curve`) and written as curve.json,
curve.md and curve.png (`write_curve`).

Every point is one critic on one round and one series: recall on the new flaw type, recall on
the old types, or the false-alarm rate on the clean controls, with its n and a Wilson 95%
interval. A critic *self-corrects* at the first round from `t0` on where the lower end of its
interval on the new type exceeds the config's `level`; the curve says after how many rounds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .._text import clip
from ..calibration import wilson_interval
from ..redteam import flaw_type, redteam_critic
from ..store import Store
from ._curve_config import LEARNERS, CurveConfig

SCHEMA_ID = "autoalign.learning-curve"
"""The `schema` of curve.json."""

SCHEMA_VERSION = 1
"""Its version (raised when a field changes meaning or goes away)."""

Series = Literal["new", "old", "controls"]
"""What a point measures: recall on the new flaw type, recall on the old types, or the rate
of flags on clean controls (false alarms)."""


class CurvePoint(BaseModel):
    """One critic on one round and one series."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    round: int = Field(ge=0)
    """The round."""
    critic: str
    """The critic's id (a learner's is scoped to the curve: `knn.<curve>`)."""
    version: str
    """The version that judged the round (a learner's changes as it learns)."""
    series: Series
    """What is measured."""
    detected: int = Field(ge=0)
    """Trials detected (on controls: flagged)."""
    n: int = Field(ge=1)
    """Trials."""
    rate: float = Field(ge=0.0, le=1.0)
    """detected / n."""
    low: float = Field(ge=0.0, le=1.0)
    """Lower end of the Wilson 95% interval."""
    high: float = Field(ge=0.0, le=1.0)
    """Upper end."""


class CriticCurve(BaseModel):
    """One critic's summary over the curve."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    critic: str
    """The critic's id."""
    kind: str
    """`learner`, `programmatic` or `llm`."""
    versions: list[str]
    """The versions that judged, in round order."""
    self_corrects_round: int | None
    """The first round from `t0` on where the lower end of its recall interval on the new
    type exceeds `level`; None when no round does."""
    self_corrects_after: int | None
    """That round minus `t0`: rounds the new type went by before the critic caught it."""


class Curve(BaseModel):
    """A learning curve, as curve.json holds it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_id: str = Field(default=SCHEMA_ID, alias="schema")
    """Always `autoalign.learning-curve`."""
    schema_version: int = SCHEMA_VERSION
    """The format's version."""
    name: str
    """The curve's name."""
    new_flaw_type: str
    """The flaw type that appears from `t0` on."""
    t0: int
    """Its first round."""
    label_delay: int
    """Rounds after which a round's labels are known to the learners."""
    level: float
    """The self-correction level."""
    rounds: int
    """Rounds the config asks for."""
    rounds_done: list[int]
    """Completed rounds (the points cover these)."""
    critics: list[CriticCurve]
    """Per critic, in config order."""
    points: list[CurvePoint]
    """Every point, by round, critic and series."""

    def of(self, critic: str, series: Series = "new") -> list[CurvePoint]:
        """One critic's points of one series, by round."""
        return [p for p in self.points if p.critic == critic and p.series == series]


def curve_json_schema() -> dict[str, Any]:
    """The JSON Schema of curve.json."""
    return Curve.model_json_schema(by_alias=True)


def _ids(config: CurveConfig) -> dict[str, str]:
    """Critic id (as trials name it) -> kind, in config order."""
    return {(config.learner_id(n) if n in LEARNERS else n):
            ("learner" if n in LEARNERS else redteam_critic(n).kind) for n in config.critics}


def build_curve(store: Store, config: CurveConfig) -> Curve:
    """The curve's points from the completed rounds' trials in the red-team tables."""
    kinds = _ids(config)
    by_name = {e.name: e for e in store.redteam_experiments()}
    points: list[CurvePoint] = []
    done: list[int] = []
    versions: dict[str, list[str]] = {c: [] for c in kinds}
    for r in range(config.rounds):
        exp = by_name.get(config.round_name(r))
        if exp is None or exp.status != "completed":
            continue
        done.append(r)
        types = {i.subject_key: i.flaw_type for i in store.redteam_injections(exp.id)}
        cells: dict[tuple[str, Series], list[int]] = {}
        seen: dict[str, str] = {}
        for t in store.redteam_trials(exp.id):
            critic, _, version = t.critic.partition("@")
            if critic not in kinds or t.matcher != "strict":
                continue
            seen.setdefault(critic, version)
            ft = types.get(t.subject_key)
            series: Series = ("controls" if ft is None else
                              "new" if ft == config.new_flaw_type else "old")
            cell = cells.setdefault((critic, series), [0, 0])
            cell[0] += int(t.detected)
            cell[1] += 1
        for critic in kinds:
            if critic not in seen:
                continue
            if not versions[critic] or versions[critic][-1] != seen[critic]:
                versions[critic].append(seen[critic])
            for series in ("new", "old", "controls"):
                got = cells.get((critic, series))
                if got is None:
                    continue
                ci = wilson_interval(got[0], got[1])
                points.append(CurvePoint(
                    round=r, critic=critic, version=seen[critic], series=series,
                    detected=got[0], n=got[1], rate=got[0] / got[1], low=ci.low, high=ci.high,
                ))
    critics = []
    for critic, kind in kinds.items():
        first = next((p.round for p in points if p.critic == critic and p.series == "new"
                      and p.round >= config.t0 and p.low > config.level), None)
        critics.append(CriticCurve(
            critic=critic, kind=kind, versions=versions[critic], self_corrects_round=first,
            self_corrects_after=None if first is None else first - config.t0,
        ))
    return Curve(
        name=config.name, new_flaw_type=config.new_flaw_type, t0=config.t0,
        label_delay=config.label_delay, level=config.level, rounds=config.rounds,
        rounds_done=done, critics=critics, points=points,
    )


def self_correction_text(critic: CriticCurve, curve: Curve) -> str:
    """The critic's self-correction in words."""
    if not curve.of(critic.critic, "new"):
        return (f"was shown no subject of the new type (it checks another kind of subject, "
                f"or no round from {curve.t0} on was run)")
    if critic.self_corrects_after is not None:
        return (f"self-corrects after {critic.self_corrects_after} round(s) (round "
                f"{critic.self_corrects_round}: lower bound above {curve.level:g})")
    return (f"does not self-correct within the {len(curve.rounds_done)} round(s) run (no lower "
            f"bound above {curve.level:g} from round {curve.t0} on)")


def _cell(p: CurvePoint | None) -> str:
    if p is None:
        return "-"
    return f"{p.detected}/{p.n} = {p.rate:.2f} [{p.low:.2f}, {p.high:.2f}]"


def markdown(curve: Curve) -> str:
    """curve.md: the protocol, each critic's verdict and its points per round."""
    ft = flaw_type(curve.new_flaw_type)
    lines = [
        f"# Learning curve {clip(curve.name)}", "",
        f"New flaw type `{ft.id}` ({ft.description}) from round {curve.t0}; labels known "
        f"{curve.label_delay} round(s) after their round; rounds completed: "
        f"{len(curve.rounds_done)} of {curve.rounds}. Each cell is detected/n = rate with a "
        "Wilson 95% interval; controls are clean subjects, so their rate is false alarms.", "",
    ]
    for c in curve.critics:
        shown = ", ".join(clip(v) for v in c.versions) or "none (it judged nothing)"
        lines += [f"## {clip(c.critic)} ({c.kind})", "",
                  f"It {self_correction_text(c, curve)}. Versions: {shown}.", "",
                  "| round | version | new type | old types | false alarms |",
                  "| --- | --- | --- | --- | --- |"]
        for r in curve.rounds_done:
            got = {p.series: p for p in curve.points if p.critic == c.critic and p.round == r}
            if not got:
                continue
            version = next(iter(got.values())).version
            lines.append(f"| {r} | {clip(version)} | {_cell(got.get('new'))} | "
                         f"{_cell(got.get('old'))} | {_cell(got.get('controls'))} |")
        lines.append("")
    return "\n".join(lines)


def _label(text: str) -> str:
    return clip(text, limit=40).replace("$", r"\$")


def figure(curve: Curve, path: Path) -> Path:
    """curve.png: recall on the new type per round per critic with interval bands, `t0`, the
    round the first labels of the new type are known, the level, and each critic's verdict;
    below it, the false-alarm rate on the controls."""
    from matplotlib.figure import Figure  # imported here: a quarter of a second

    fig = Figure(figsize=(9, 6.5), dpi=100, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.3])
    for c in curve.critics:
        pts = curve.of(c.critic, "new")
        if not pts:
            continue
        xs = [p.round for p in pts]
        after = (f"self-corrects after {c.self_corrects_after} round(s)"
                 if c.self_corrects_after is not None else "does not self-correct")
        line = top.plot(xs, [p.rate for p in pts], marker="o", label=f"{_label(c.critic)}: "
                        f"{after}")[0]
        top.fill_between(xs, [p.low for p in pts], [p.high for p in pts], alpha=0.15,
                         color=line.get_color())
        if c.self_corrects_round is not None:
            hit = next(p for p in pts if p.round == c.self_corrects_round)
            top.plot([hit.round], [hit.rate], marker="*", markersize=16,
                     color=line.get_color())
        alarms = curve.of(c.critic, "controls")
        if alarms:
            bottom.plot([p.round for p in alarms], [p.rate for p in alarms], marker="o",
                        color=line.get_color())
            bottom.fill_between([p.round for p in alarms], [p.low for p in alarms],
                                [p.high for p in alarms], alpha=0.15, color=line.get_color())
    for ax in (top, bottom):
        ax.axvline(curve.t0, color="black", linewidth=1)
        ax.axvline(curve.t0 + curve.label_delay, color="grey", linestyle=":", linewidth=1)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
    top.axhline(curve.level, color="grey", linestyle="--", linewidth=1)
    top.text(curve.t0, 1.0, " t0: new type appears", va="top", fontsize=8)
    top.text(curve.t0 + curve.label_delay, 0.9, " its first labels known", va="top",
             fontsize=8, color="grey")
    top.set_ylabel(f"recall on {_label(curve.new_flaw_type)}")
    top.set_title(f"Learning curve {_label(curve.name)} (Wilson 95% bands; dashed: level "
                  f"{curve.level:g})")
    top.legend(fontsize=8, loc="center right")
    from matplotlib.ticker import MaxNLocator

    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.set_ylabel("false alarms\n(controls)")
    bottom.set_xlabel("round")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


JSON_NAME = "curve.json"
MARKDOWN_NAME = "curve.md"
FIGURE_NAME = "curve.png"


@dataclass(frozen=True, kw_only=True)
class CurveFiles:
    """What `write_curve` wrote."""

    json: Path
    """curve.json."""
    markdown: Path
    """curve.md."""
    figure: Path
    """curve.png."""


def write_curve(curve: Curve, folder: Path) -> CurveFiles:
    """Write curve.json, curve.md and curve.png into `folder` (created if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = curve.model_dump(mode="json", by_alias=True)
    (folder / JSON_NAME).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (folder / MARKDOWN_NAME).write_text(markdown(curve), encoding="utf-8")
    return CurveFiles(json=folder / JSON_NAME, markdown=folder / MARKDOWN_NAME,
                      figure=figure(curve, folder / FIGURE_NAME))


__all__ = [
    "FIGURE_NAME",
    "JSON_NAME",
    "MARKDOWN_NAME",
    "SCHEMA_ID",
    "SCHEMA_VERSION",
    "CriticCurve",
    "Curve",
    "CurveFiles",
    "CurvePoint",
    "Series",
    "build_curve",
    "curve_json_schema",
    "figure",
    "markdown",
    "self_correction_text",
    "write_curve",
]
