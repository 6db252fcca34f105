"""A case over time: every evaluation stored as an immutable snapshot, what changed between two
snapshots and why (which evidence moved), which claims depend on a metric or an artifact, and
the re-evaluation of the cases registered for a database after a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..vocabulary import CaseStatus
from ._evaluate import Evaluation, NodeResult, case_digest, evaluate
from ._load import load_case
from ._sources import Reading, Sources

if TYPE_CHECKING:
    from ..store import CaseRegistrationRecord, CaseSnapshotRecord, Store


def save_snapshot(store: Store, evaluation: Evaluation) -> int:
    """Store `evaluation` as a snapshot of its case; its id."""
    content = evaluation.model_dump(mode="json")
    # JSONB does not keep the keys' order: the file order of the nodes is kept beside them.
    content["node_order"] = list(evaluation.nodes)
    record = store.add_case_snapshot(
        case_name=evaluation.case_name, digest=evaluation.digest,
        evaluated_at=evaluation.evaluated_at, content=content,
    )
    return record.id


def snapshot_evaluation(record: CaseSnapshotRecord) -> Evaluation:
    """The evaluation a snapshot holds (nodes in the case file's order)."""
    content = dict(record.content)
    order: list[str] = content.pop("node_order", None) or list(content["nodes"])
    content["nodes"] = {i: content["nodes"][i] for i in order}
    return Evaluation.model_validate(content)


@dataclass(frozen=True, kw_only=True)
class Moved:
    """A metric whose reading differs between two evaluations."""

    metric: str
    before: Reading | None
    after: Reading | None


@dataclass(frozen=True, kw_only=True)
class Change:
    """One node whose status or confidence changed, and the evidence that moved under it."""

    node: str
    text: str
    before: CaseStatus | None
    """None: the node is new."""
    after: CaseStatus | None
    """None: the node was removed."""
    doubt_before: float | None = None
    doubt_after: float | None = None
    moved: list[Moved] = field(default_factory=list)

    @property
    def turned_defeated(self) -> bool:
        """The node is defeated now and was not before."""
        return self.after is CaseStatus.DEFEATED and self.before is not CaseStatus.DEFEATED


def _readings(evaluation: Evaluation) -> dict[str, Reading | None]:
    out: dict[str, Reading | None] = {}
    for node in evaluation.nodes.values():
        if node.figure is not None:
            for metric in node.metrics:
                out[metric] = node.figure.reading
    return out


def _same(a: Reading | None, b: Reading | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.estimate, a.n, a.low, a.high, a.measured_at) == (
        b.estimate, b.n, b.low, b.high, b.measured_at)


def diff(before: Evaluation, after: Evaluation) -> list[Change]:
    """Every node whose status or doubt differs (new and removed nodes too), in the later
    evaluation's order, each with the metrics under it whose readings moved; defeated-now
    first."""
    ra, rb = _readings(before), _readings(after)
    changes: list[Change] = []
    ids = list(after.nodes) + [i for i in before.nodes if i not in after.nodes]
    for eid in ids:
        a: NodeResult | None = before.nodes.get(eid)
        b: NodeResult | None = after.nodes.get(eid)
        if a is not None and b is not None and a.status == b.status and _close(a.doubt, b.doubt):
            continue
        metrics = (b or a).metrics if (b or a) is not None else []  # type: ignore[union-attr]
        moved = [Moved(metric=m, before=ra.get(m), after=rb.get(m)) for m in metrics
                 if not _same(ra.get(m), rb.get(m))]
        changes.append(Change(
            node=eid, text=(b or a).text,  # type: ignore[union-attr]
            before=a.status if a else None, after=b.status if b else None,
            doubt_before=a.doubt if a else None, doubt_after=b.doubt if b else None,
            moved=moved,
        ))
    return sorted(changes, key=lambda c: not c.turned_defeated)


def _close(x: float | None, y: float | None) -> bool:
    if x is None or y is None:
        return x is y
    return abs(x - y) < 1e-12


def impact(evaluation: Evaluation, needle: str) -> list[NodeResult]:
    """The goals, strategies and counter-goals whose evidence reads a metric path containing
    `needle` (a metric name, a source such as `db:review`, a critic id, a flaw type), in file
    order."""
    return [n for n in evaluation.nodes.values()
            if n.type.value in ("goal", "strategy", "counter-goal")
            and any(needle in m for m in n.metrics)]


def artifact_metrics(store: Store, artifact_id: int, metrics: list[str]) -> list[str]:
    """The `db:` metric paths among `metrics` whose value the artifact feeds: the step flaw
    rate of its stage or kind, the flawed-paper rate for a paper, the review error rate when a
    human decided on one of its flaws, calibration when it states a scored claim."""
    from ._paths import parse_path

    art = store.artifact_summaries(ids=[artifact_id])
    if not art:
        raise UsageError(f"no artifact {artifact_id}; `autoalign show artifacts` lists them")
    a = art[0]
    labelled = bool(store.review_labels(artifact_id=artifact_id))
    has_claims = bool(store.claims(artifact_id=artifact_id))
    found = []
    for m in metrics:
        try:
            path = parse_path(m)
        except ValueError:
            continue
        keys = path.key_dict
        if path.source != "db":
            continue
        if (path.name == "steps.flaw_rate" and keys.get("stage", a.stage) == a.stage
                and keys.get("kind", a.kind) == a.kind) or (
                path.name == "papers.flawed_rate" and a.kind == "paper") or (
                path.name == "review.error_rate" and labelled) or (
                path.name.startswith("calibration.") and has_claims):
            found.append(m)
    return found


@dataclass(frozen=True, kw_only=True)
class Reevaluation:
    """A registered case evaluated again: its new snapshot and what changed since the last."""

    name: str
    snapshot_id: int | None
    changes: list[Change]
    error: str | None = None
    """Why the case could not be evaluated (file gone, a check failed, a bad report)."""
    first: bool = False
    """No earlier snapshot to compare with."""


def sources_for(store: Store, *, redteam_report: str | None,
                redteam_experiment: str | None) -> Sources:
    """The sources of a registered case: its report file, or a report built from its red-team
    experiment's trials in `store`."""
    if redteam_report is not None:
        return Sources.with_report_file(Path(redteam_report), store=store)
    if redteam_experiment is not None:
        from ..redteam import build_report, trials

        exp = store.redteam_experiment(
            int(redteam_experiment) if redteam_experiment.isdigit() else redteam_experiment)
        report = build_report(trials(store, exp.id)).report
        return Sources(store=store, report=report,
                       report_origin=f"redteam experiment {exp.name}",
                       report_time=exp.finished_at or exp.created_at)
    return Sources(store=store)


def evaluate_registered(store: Store, reg: CaseRegistrationRecord,
                        now: datetime | None = None) -> Evaluation:
    """Evaluate a registered case against `store` and its red-team input.

    Raises:
        UsageError: the file is missing or fails its checks, or its report cannot be read.
    """
    path = Path(reg.path)
    try:
        loaded = load_case(path)
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"case {reg.name}: cannot read {path}: {exc.strerror or exc}") from exc
    if not loaded.ok or loaded.case is None:
        first = next((str(p) for p in loaded.problems if p.severity == "error"), "")
        raise UsageError(f"case {reg.name}: {path} fails its checks: {first}")
    sources = sources_for(store, redteam_report=reg.redteam_report,
                          redteam_experiment=reg.redteam_experiment)
    return evaluate(loaded.case, sources, name=reg.name, digest=case_digest(text),
                    now=now or datetime.now(UTC))


def reevaluate_registered(store: Store, now: datetime | None = None) -> list[Reevaluation]:
    """Evaluate every case registered for `store`, store a snapshot of each and compare it with
    the case's previous snapshot. A case that cannot be evaluated is reported, not raised (the
    run it follows has finished either way)."""
    out: list[Reevaluation] = []
    for reg in store.registered_cases():
        previous = store.case_snapshots(case_name=reg.name)
        try:
            evaluation = evaluate_registered(store, reg, now)
        except Exception as exc:
            out.append(Reevaluation(name=reg.name, snapshot_id=None, changes=[],
                                    error=" ".join(str(exc).split())))
            continue
        snapshot_id = save_snapshot(store, evaluation)
        if not previous:
            out.append(Reevaluation(name=reg.name, snapshot_id=snapshot_id, changes=[],
                                    first=True))
            continue
        changes = diff(snapshot_evaluation(previous[-1]), evaluation)
        out.append(Reevaluation(name=reg.name, snapshot_id=snapshot_id, changes=changes))
    return out


__all__ = [
    "Change",
    "Moved",
    "Reevaluation",
    "artifact_metrics",
    "diff",
    "evaluate_registered",
    "impact",
    "reevaluate_registered",
    "save_snapshot",
    "snapshot_evaluation",
    "sources_for",
]
