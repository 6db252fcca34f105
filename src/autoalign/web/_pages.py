"""What each page shows, read from the store: plain data for the templates, no HTML."""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ..errors import AutoalignError
from ..store import ArtifactSummary, RunSummary, Store, UsageTotals


@dataclass(frozen=True, kw_only=True)
class RunRow:
    """A run with its spending, as the index lists it."""

    run: RunSummary
    usage: UsageTotals
    artifacts: int


def runs(store: Store) -> list[RunRow]:
    """Every run with its ledger totals and artifact count."""
    counts = store.artifact_counts()
    return [RunRow(run=r, usage=store.run_usage(r.id), artifacts=counts.get(r.id, 0))
            for r in store.run_summaries()]


def run(store: Store, run_id: int) -> dict[str, Any]:
    """A run: its record, spending, budget, time, stage 1 funnel and artifacts per stage."""
    from ..pipeline import stage1_funnel

    record = store.get_run(run_id)
    summaries = store.artifact_summaries(run_id=run_id)
    per_stage: dict[str, Counter[str]] = {}
    for a in summaries:
        per_stage.setdefault(a.stage, Counter())[a.kind] += 1
    status = Counter(a.status for a in summaries)
    elapsed = (
        (record.finished_at - record.created_at).total_seconds() if record.finished_at else None
    )
    return {
        "run": record,
        "usage": store.run_usage(run_id),
        "elapsed": elapsed,
        "funnel": stage1_funnel(store, run_id),
        "per_stage": {stage: sorted(kinds.items()) for stage, kinds in per_stage.items()},
        "statuses": sorted(status.items()),
        "papers": [a for a in summaries if a.kind == "paper"],
    }


@dataclass(frozen=True, kw_only=True)
class Segment:
    """A piece of a paragraph: plain text, or a number linked to the sandbox run it came from."""

    text: str
    run: int | None = None
    traced: bool = False
    note: str = ""


def segments(text: str, numbers: Sequence[Any]) -> list[Segment]:
    """`text` cut at its traced numbers (each with `start`, `end`, `run`, ...)."""
    out: list[Segment] = []
    at = 0
    for n in sorted(numbers, key=lambda n: n.start):
        if n.start < at or n.end > len(text):
            continue
        if n.start > at:
            out.append(Segment(text=text[at:n.start]))
        if n.run is None:
            note = "untraced: no sandbox result matches this number"
        else:
            seed = "mean over seeds" if n.seed is None else f"seed {n.seed}"
            note = (f"sandbox_run {n.run}: arm {n.arm}, {n.metric}, {seed}, logged {n.value!r} "
                    f"in step_log {n.step_log}")
        out.append(Segment(text=text[n.start:n.end], run=n.run, traced=n.run is not None,
                           note=note))
        at = n.end
    if at < len(text):
        out.append(Segment(text=text[at:]))
    return out


def paper(store: Store, paper_id: int) -> dict[str, Any]:
    """A paper top-down: its parts in order, each paragraph with its links and numbers, then
    the research log it was written from, claims, critique and flaws."""
    from ..pipeline import read_paper

    view = read_paper(store, paper_id)
    content = view.paper.content_json if isinstance(view.paper.content_json, dict) else {}
    log_id = content.get("research_log")
    logs: list[ArtifactSummary] = []
    if isinstance(log_id, int):
        logs = store.artifact_summaries(ids=[log_id])
    parts = [
        {
            "part": part,
            "paragraphs": [{"p": p, "segments": segments(p.text, p.numbers)}
                           for p in part.paragraphs],
        }
        for part in view.parts
    ]
    kinds = {a.id: a for a in store.artifact_summaries(ids=sorted({f.artifact_id
                                                                   for f in view.flaws}))}
    return {"view": view, "parts": parts, "logs": logs, "flaw_artifacts": kinds}


def artifact(store: Store, artifact_id: int) -> dict[str, Any]:
    """An artifact with its status history, provenance, flaws, claims and verdicts."""
    record = store.artifact(artifact_id)
    return {
        "a": record,
        "history": store.status_history(record.id),
        "parents": store.parents(record.id),
        "downstream": store.count_descendants(record.id),
        "flaws": store.flaws(artifact_id=record.id),
        "claims": store.claims(artifact_id=record.id),
        "judgments": store.judgments(artifact_id=record.id),
        "erasure": store.erasure_of(record.id),  # log erasure (issue 14, part ER)
    }


def flaws(store: Store, limit: int) -> dict[str, Any]:
    """The newest flaws with their critic and the status (taint) of their artifact."""
    found = list(reversed(store.flaws()))
    shown = found[:limit]
    summaries = {a.id: a for a in store.artifact_summaries(
        ids=sorted({f.artifact_id for f in shown}))}
    return {"flaws": shown, "artifacts": summaries, "total": len(found)}


def review(store: Store, request_id: int) -> dict[str, Any]:
    """A review request with its full context (`autoalign.review.request_context`)."""
    from ..review import request_context
    from ..vocabulary import ReviewDecision, Severity

    view = request_context(store, request_id)
    kinds = {view.artifact.id: view.artifact.kind,
             **{x.artifact.id: x.artifact.kind for x in view.ancestors}}
    return {
        "view": view,
        "kinds": kinds,
        "decisions": [d.value for d in ReviewDecision],
        "severities": [s.value for s in Severity],
    }


TruthFor = Callable[[str], Sequence[Any]]


def _score(store: Store, truth_for: TruthFor | None, n_boot: int) -> Any:
    from ..calibration import score_claims

    if truth_for is None:
        return score_claims(store, n_boot=n_boot)
    return score_claims(store, n_boot=n_boot, truth_for=truth_for)


def calibration(store: Store, truth_for: TruthFor | None, n_boot: int) -> dict[str, Any]:
    """What `autoalign calibration` prints: the scores overall and by source and model."""
    from ..calibration import MIN_N_FOR_INTERVAL

    try:
        report = _score(store, truth_for, n_boot)
    except AutoalignError as exc:
        return {"report": None, "problem": str(exc)}
    return {
        "report": report,
        "problem": None,
        "by_source": report.groups_by("source"),
        "by_model": report.groups_by("model"),
        "skipped": sorted(report.skipped_counts().items()),
        "min_n": MIN_N_FOR_INTERVAL,
    }


def calibration_png(store: Store, truth_for: TruthFor | None, n_boot: int) -> bytes | None:
    """The reliability diagram of `autoalign calibration`, as PNG bytes; None without scores."""
    from ..calibration import reliability_diagram

    report = _score(store, truth_for, n_boot)
    if not report.scores:
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = reliability_diagram(report, Path(folder) / "calibration.png", n_boot=n_boot)
        return path.read_bytes()


def redteam(store: Store, n_boot: int) -> dict[str, Any]:
    """The latest red-team experiment's report: every metric with n and its interval."""
    from ..redteam import build_report, trials

    experiments = store.redteam_experiments()
    if not experiments:
        return {"experiment": None, "report": None, "problem": "no red-team experiment in this "
                "database yet; `autoalign redteam run` starts one"}
    latest = experiments[-1]
    found = trials(store, latest.id)
    if not found:
        return {"experiment": latest, "report": None,
                "problem": f"red-team experiment {latest.id} has no trials yet"}
    key = (latest.id, len(found), n_boot)
    if key not in _ANALYSED:  # built and drawn once per experiment state, not per page or image
        try:
            analysis = build_report(found, n_boot=n_boot)
        except AutoalignError as exc:
            return {"experiment": latest, "report": None, "problem": str(exc)}
        _ANALYSED.clear()
        _ANALYSED[key] = (analysis.report, _redteam_figures(analysis))
    report, figures = _ANALYSED[key]
    return {"experiment": latest, "report": report, "problem": None, "figures": figures}


_ANALYSED: dict[tuple[int, int, int], tuple[Any, list[tuple[str, str, bytes]]]] = {}
"""The latest red-team report and its figures, by (experiment, trials, bootstrap replicates)."""


def _redteam_figures(analysis: Any) -> list[tuple[str, str, bytes]]:
    """The red-team report's figures (`autoalign redteam report` draws the same): per figure
    its title, its file name and the PNG."""
    from ..redteam import write_figures

    with tempfile.TemporaryDirectory() as folder:
        return [(f.title, f.path.name, f.path.read_bytes())
                for f in write_figures(analysis, Path(folder))]


def redteam_png(store: Store, n_boot: int, name: str) -> bytes | None:
    """The red-team page's figure `name` (a file name the page links), as PNG bytes; None
    when the latest experiment has no such figure."""
    found = redteam(store, n_boot).get("figures") or []
    return next((png for _title, file, png in found if file == name), None)


def safety_case(store: Store) -> dict[str, Any]:
    """The safety cases registered for this database (`autoalign case register`), each as its
    latest evaluation (a snapshot: this page only reads): the rendered argument, the summary in
    words and every node's status, confidence and evidence figure. What is missing otherwise."""
    from ..case import figure_text, render_svg, snapshot_evaluation, summary_paragraphs

    registered = store.registered_cases()
    if not registered:
        return {"cases": [], "problem": "no safety case is registered for this database; "
                "`autoalign case new pipeline-a` writes one, `autoalign case register FILE` "
                "registers it, and every later run evaluates it"}
    cases: list[dict[str, Any]] = []
    for reg in registered:
        snapshots = store.case_snapshots(case_name=reg.name)
        if not snapshots:
            cases.append({"name": reg.name, "path": reg.path, "evaluation": None})
            continue
        evaluation = snapshot_evaluation(snapshots[-1])
        cases.append({
            "name": reg.name, "path": reg.path, "evaluation": evaluation,
            "snapshots": len(snapshots),
            # render_svg escapes every text it draws: its markup is safe to embed as is
            "svg": Markup(render_svg(evaluation)),
            "summary": summary_paragraphs(evaluation),
            "figures": {i: figure_text(n.figure) for i, n in evaluation.nodes.items()
                        if n.figure is not None},
        })
    return {"cases": cases, "problem": None}


