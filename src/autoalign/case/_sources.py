"""Where a case's numbers come from: a red-team report's JSON (`redteam:` paths) and the
research database (`db:` paths). Each read gives a `Reading` (estimate, n, interval, method,
when measured) or the reason there is none; nothing is ever typed into the case file.

The `db:` names (keys in braces are optional filters):

- `db:review.error_rate{critic}`: of the human decisions on critics' flaws (`confirm` or
  `dismiss`), the fraction dismissed: how often a human overturned the critic (Wilson);
- `db:steps.flaw_rate{stage,kind}`: of the stored artifacts (of that stage or kind), the
  fraction carrying at least one recorded flaw: the local error rate (Wilson);
- `db:papers.flawed_rate`: of the papers, the fraction whose status is `flawed` or `tainted`
  (Wilson);
- `db:runs.completed_rate`: of the runs that ended, the fraction `completed` (Wilson);
- `db:calibration.brier|log_loss|ece{source}`: the claims' calibration against testbed ground
  truth, overall or of one source (`study`, `pipeline`), with its bootstrap interval.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, ValidationError

from ..calibration import wilson_interval
from ..errors import UsageError
from ..vocabulary import ReviewDecision, Status, UpdateKind
from ._paths import MetricPath

if TYPE_CHECKING:
    from ..calibration import CalibrationReport
    from ..redteam import RedteamReport
    from ..store import Store

DB_METRICS: tuple[str, ...] = (
    "review.error_rate", "steps.flaw_rate", "papers.flawed_rate", "runs.completed_rate",
    "calibration.brier", "calibration.log_loss", "calibration.ece", "updates.worse_rate",
)
"""Every `db:` metric name."""

LATER_LABELS = 10
"""Labels known after an applied update that `db:updates.worse_rate` needs to judge it."""


class Reading(BaseModel):
    """One measured number as a case leaf sees it."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    path: str
    """The metric path read."""
    estimate: float | None
    """The point estimate (None where undefined on the data)."""
    n: int
    """How many units it rests on."""
    low: float | None = None
    """Lower end of the interval (None: no interval)."""
    high: float | None = None
    """Upper end of the interval."""
    level: float | None = None
    """The interval's nominal coverage."""
    method: str
    """The estimator behind the interval."""
    measured_at: datetime | None = None
    """When the data behind it were produced (None: unknown, never stale)."""
    origin: str
    """Where it was read (`redteam report FILE`, `database`)."""

    def value(self, bound: str) -> float | None:
        """The number a bound names: `lower`, `upper` or `estimate`."""
        return {"lower": self.low, "upper": self.high, "estimate": self.estimate}[bound]


@dataclass(frozen=True)
class Missing:
    """Why a metric could not be read."""

    reason: str


class Sources:
    """The red-team report and the database a case is evaluated against (either may be
    absent: a leaf that needs it is then undecided)."""

    def __init__(
        self,
        *,
        report: RedteamReport | None = None,
        report_origin: str = "redteam report",
        report_time: datetime | None = None,
        store: Store | None = None,
        calibration: Callable[[], CalibrationReport] | None = None,
    ) -> None:
        self.report = report
        self.report_origin = report_origin
        self.report_time = report_time
        self.store = store
        self._calibration_fn = calibration
        self._calibration: CalibrationReport | None = None
        self.report_refused: str | None = None
        """Why the report is not read (set by `without_report`)."""

    def without_report(self, reason: str) -> Sources:
        """These sources with the report set aside for `reason` (the database kept)."""
        other = Sources(store=self.store, calibration=self._calibration_fn)
        other._calibration = self._calibration
        other.report_refused = reason
        return other

    @classmethod
    def with_report_file(cls, path: Path, **kwargs: object) -> Sources:
        """Sources reading the red-team report JSON at `path` (its modification time is when
        it was measured).

        Raises:
            UsageError: the file cannot be read or is not a red-team report of a known version.
        """
        from ..redteam import RedteamReport

        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            report = RedteamReport.model_validate(raw)
        except OSError as exc:
            raise UsageError(f"cannot read the red-team report {path}: "
                             f"{exc.strerror or exc}") from exc
        except (ValueError, ValidationError) as exc:
            first = str(exc).splitlines()[0]
            raise UsageError(f"{path} is not a red-team report JSON (`autoalign redteam report`,"
                             f" schema version 1): {first}") from exc
        when = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        return cls(report=report, report_origin=f"redteam report {path.name}", report_time=when,
                   **kwargs)  # type: ignore[arg-type]

    def read(self, path: MetricPath, method: str | None) -> Reading | Missing:
        """The reading of `path` (by `method`, when given)."""
        if path.source == "redteam":
            return self._read_report(path, method)
        return self._read_db(path, method)

    def _read_report(self, path: MetricPath, method: str | None) -> Reading | Missing:
        if self.report is None:
            return Missing(self.report_refused
                           or "no red-team report given (--redteam REPORT.json)")
        keys = path.key_dict
        found = [m for m in self.report.metrics if m.name == path.name and m.keys == keys]
        if not found:
            return Missing(f"the red-team report has no {path}")
        if method is not None:
            found = [m for m in found if m.method == method]
            if not found:
                return Missing(f"the red-team report has {path} but not by method {method}")
        elif len(found) > 1:
            wilson = [m for m in found if m.method == "wilson"]
            if not wilson:
                methods = ", ".join(sorted(m.method for m in found))
                return Missing(f"{path} has several methods ({methods}); name one in `method`")
            found = wilson
        metric = found[0]
        interval = metric.interval
        return Reading(
            path=str(path), estimate=metric.estimate, n=metric.n,
            low=interval.low if interval else None, high=interval.high if interval else None,
            level=interval.level if interval else None, method=metric.method,
            measured_at=self.report_time, origin=self.report_origin,
        )

    def _read_db(self, path: MetricPath, method: str | None) -> Reading | Missing:
        if self.store is None:
            return Missing("no database to read from")
        if path.name not in DB_METRICS:
            return Missing(f"unknown database metric {path.name!r}; known: "
                           + ", ".join(DB_METRICS))
        keys = path.key_dict
        if path.name.startswith("calibration."):
            return self._calibration_reading(path, keys)
        if method not in (None, "wilson"):
            return Missing(f"{path} is measured by `wilson` only, not {method}")
        if path.name == "review.error_rate":
            return self._review(path, keys)
        if path.name == "steps.flaw_rate":
            return self._steps(path, keys)
        if path.name == "papers.flawed_rate":
            return self._papers(path)
        if path.name == "updates.worse_rate":
            return self._worse_updates(path, keys)
        return self._runs(path)

    def _proportion(self, path: MetricPath, k: int, n: int, when: datetime | None,
                    what: str) -> Reading | Missing:
        if n == 0:
            return Missing(f"{path}: no {what} in the database yet")
        interval = wilson_interval(k, n)
        return Reading(path=str(path), estimate=k / n, n=n, low=interval.low,
                       high=interval.high, level=interval.level, method="wilson",
                       measured_at=when, origin="database")

    def _review(self, path: MetricPath, keys: dict[str, str]) -> Reading | Missing:
        assert self.store is not None
        labels = [lab for lab in self.store.review_labels() if lab.flaw_id is not None
                  and lab.decision in (ReviewDecision.CONFIRM, ReviewDecision.DISMISS)]
        if "critic" in keys and labels:
            flaws = {f.id: f for f in self.store.flaws()}
            labels = [lab for lab in labels if lab.flaw_id in flaws
                      and _critic_matches(flaws[lab.flaw_id].critic,
                                          flaws[lab.flaw_id].critic_version, keys["critic"])]
        k = sum(lab.decision == ReviewDecision.DISMISS for lab in labels)
        when = max((lab.created_at for lab in labels), default=None)
        return self._proportion(path, k, len(labels), when, "human decision on a critic's flaw")

    def _steps(self, path: MetricPath, keys: dict[str, str]) -> Reading | Missing:
        assert self.store is not None
        arts = self.store.artifact_summaries(stage=keys.get("stage"), kind=keys.get("kind"))
        ids = [a.id for a in arts]
        flawed = {f.artifact_id for f in self.store.flaws(artifact_ids=ids)} if ids else set()
        when = max((a.created_at for a in arts), default=None)
        return self._proportion(path, sum(i in flawed for i in ids), len(ids), when, "artifacts")

    def _papers(self, path: MetricPath) -> Reading | Missing:
        assert self.store is not None
        papers = self.store.artifact_summaries(kind="paper")
        bad = sum(p.status in (Status.FLAWED, Status.TAINTED) for p in papers)
        when = max((p.created_at for p in papers), default=None)
        return self._proportion(path, bad, len(papers), when, "papers")

    def _runs(self, path: MetricPath) -> Reading | Missing:
        assert self.store is not None
        ended = [r for r in self.store.list_runs() if r.finished_at is not None]
        done = sum(r.status == "completed" for r in ended)
        when = max((r.finished_at for r in ended if r.finished_at), default=None)
        return self._proportion(path, done, len(ended), when, "finished runs")

    def _worse_updates(self, path: MetricPath, keys: dict[str, str]) -> Reading | Missing:
        """Applied recalibrations that made their critic worse on the labels that became known
        after they were applied: each one with at least `LATER_LABELS` such labels counts once,
        as worse when the mean log loss through its map exceeds that through the map it
        replaced (the raw probability for the first)."""
        assert self.store is not None
        from ..calibration import apply_map, log_loss

        applied = [v for v in self.store.critic_versions(critic=keys.get("critic"))
                   if v.update == UpdateKind.RECALIBRATION and v.applied]
        worse = judged = 0
        when: datetime | None = None
        for i, version in enumerate(applied):
            before = next((v for v in reversed(applied[:i]) if v.critic == version.critic),
                          None)
            later = [lab for lab in self.store.labels(
                critic=f"{version.critic}@{version.base_version}", with_probability=True)
                if lab.known_at > version.created_at]
            if len(later) < LATER_LABELS:
                continue
            truth = [lab.severe for lab in later]
            stated = [float(lab.probability or 0.0) for lab in later]
            now = log_loss([apply_map(version.params, p) for p in stated], truth)
            then = log_loss([apply_map(before.params, p) for p in stated] if before else stated,
                            truth)
            judged += 1
            worse += now > then
            newest = max(lab.known_at for lab in later)
            when = newest if when is None else max(when, newest)
        return self._proportion(path, worse, judged, when,
                                f"applied recalibration with {LATER_LABELS} later labels")

    def _calibration_reading(self, path: MetricPath, keys: dict[str, str]) -> Reading | Missing:
        assert self.store is not None
        if self._calibration is None:
            if self._calibration_fn is not None:
                self._calibration = self._calibration_fn()
            else:
                from ..calibration import score_claims

                self._calibration = score_claims(self.store, n_boot=1000)
        report = self._calibration
        statistic = path.name.split(".", 1)[1]
        scores = report.scores
        if "source" in keys:
            groups = [g for g in report.groups if g.by == "source" and g.source == keys["source"]]
            scores = groups[0].report.scores if groups else ()
        found = [s for s in scores if s.statistic == statistic]
        if not found:
            return Missing(f"{path}: no claim with ground truth to score")
        score = found[0]
        ended = [r.finished_at for r in self.store.list_runs() if r.finished_at is not None]
        return Reading(
            path=str(path), estimate=score.value, n=score.n,
            low=score.ci_low if score.has_interval else None,
            high=score.ci_high if score.has_interval else None,
            level=score.level if score.has_interval else None, method="bootstrap-percentile",
            measured_at=max(ended, default=None), origin="database",
        )


def _critic_matches(critic: str | None, version: str | None, wanted: str) -> bool:
    if critic is None:
        return False
    return wanted in (critic, f"{critic}@{version}")


__all__ = ["DB_METRICS", "Missing", "Reading", "Sources"]
