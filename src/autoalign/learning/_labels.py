"""Collecting labels of all three kinds into the `labels` table (`docs/learning.md`).

Each source record becomes one label per critic version whose verdict on the subject is known
(and one with no critic when none is):

- **red-team trials** (`LabelSource.REDTEAM_TRIAL`): a critic run on a tampered copy or a clean
  control, as the strict matcher judged it. A tampered copy of a real artifact of the research
  database (the injection names its source artifact) is *semi-organic*: a small local flaw in
  real work. A built-in subject, and every control, is *artificial*.
- **model organisms** (`LabelSource.ORGANISM`, artificial): each organism project with known
  misbehaviours, reduced to trials by `autoalign.redteam.measure` (what each critic stored on
  the project's artifacts).
- **human review decisions** (`LabelSource.REVIEW`, organic): a `confirm` or `dismiss` of a flaw
  a critic raised labels that critic's finding; on a paper, it also labels critic #2's stated
  severe-flaw probability (its latest critique of the paper before the decision).
- **re-reviews** (`LabelSource.REREVIEW`, organic): a flaw a re-review found that the paper's
  earlier review had not: critic #2's earlier critique missed it.
- **contradictions** (`LabelSource.CONTRADICTION`, organic): a claim critic #3 found contradicted
  by a later result; critic #2's earlier critique of that paper is labelled as having missed it.

A label's `known_at` is when its truth became known: the trial's or ground truth's recording,
the review decision, the re-review, the cross-examination. Collecting is idempotent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from ..critics import FlawCategory, Severity, get_critic
from ..redteam import OrganismRun, measure
from ..store import ArtifactRecord, FlawRecord, NewLabel, Store
from ..vocabulary import Kind, LabelKind, LabelSource, Relation, ReviewDecision

SEVERE = frozenset({Severity.MAJOR.value, Severity.CRITICAL.value})
"""Severities that make a flaw severe: what critic #2's stated probability is about."""

CRITIC2_REVIEW = "c2.investigate"
"""The critic under which critic #2's stated severe-flaw probability is labelled (its LLM
review's confirmed flaws are stored by `c2.investigate`), as the red team scores it."""


@dataclass(frozen=True, kw_only=True)
class Collected:
    """What one collection added."""

    added: int
    by_source: dict[str, int]
    by_kind: dict[str, int]
    total: int
    """Labels in the table afterwards."""


def collect_labels(store: Store) -> Collected:
    """Read every label source in the database and add the labels not stored yet."""
    found = [*_trial_labels(store), *_organism_labels(store), *_review_labels(store),
             *_rereview_labels(store), *_contradiction_labels(store)]
    stored = {(r.source.value, r.source_ref, r.critic) for r in store.labels()}
    new: dict[tuple[str, str, str], NewLabel] = {}
    for n in found:
        if n.key not in stored:
            new.setdefault(n.key, n)
    ids = store.add_labels(new.values())
    return Collected(
        added=len(ids),
        by_source=dict(Counter(n.source.value for n in new.values())),
        by_kind=dict(Counter(n.kind.value for n in new.values())),
        total=len(stored) + len(ids),
    )


def _trial_labels(store: Store) -> Iterator[NewLabel]:
    for exp in store.redteam_experiments():
        injections = {i.subject_key: i for i in store.redteam_injections(exp.id)}
        for t in store.redteam_trials(exp.id):
            if t.matcher != "strict":
                continue  # one verdict per critic and subject: the strict matcher's
            inj = injections.get(t.subject_key)
            semi = inj is not None and inj.source_artifact_id is not None
            yield NewLabel(
                kind=LabelKind.SEMI_ORGANIC if semi else LabelKind.ARTIFICIAL,
                source=LabelSource.REDTEAM_TRIAL, source_ref=f"{exp.name}:{t.subject_key}",
                subject=t.subject_key,
                artifact_id=inj.source_artifact_id if inj is not None else None,
                flaw_type=inj.flaw_type if inj is not None else None,
                present=inj is not None, severe=t.severe, critic=t.critic,
                detected=t.detected, probability=t.probability,
                detail=inj.description if inj is not None else "clean control",
                known_at=t.created_at or exp.created_at,
            )


ORGANISM_RUN_PREFIX = "redteam rt-"
"""How an organism project's run is named (`autoalign.redteam.organism_agenda`): the organism
itself stays opaque, so a clean project (no ground-truth row) is known only by this name."""


def _organism_labels(store: Store) -> Iterator[NewLabel]:
    truth = store.organism_flaws()
    names: dict[int, str] = {}
    known_at: dict[int, datetime] = {}
    for row in truth:
        names.setdefault(row.run_id, row.organism)
        known_at[row.run_id] = max(known_at.get(row.run_id, row.created_at), row.created_at)
    runs = {r.id: r for r in store.list_runs()}
    for run in runs.values():  # clean organism projects: controls, known when they ended
        if run.name.startswith(ORGANISM_RUN_PREFIX) and run.id not in names:
            names[run.id] = "a clean organism"
            known_at[run.id] = run.finished_at or run.created_at
    organism_runs = [
        OrganismRun(organism=name, project=0, run_id=run_id, drawn=frozenset(),
                    status=runs[run_id].status)
        for run_id, name in sorted(names.items())
    ]
    for t in measure(store, organism_runs).trials:
        run_id = int(t.subject.split(":")[1])
        yield NewLabel(
            kind=LabelKind.ARTIFICIAL, source=LabelSource.ORGANISM, source_ref=t.subject,
            subject=t.subject, flaw_type=t.flaw_type, present=t.flaw_type is not None,
            severe=t.severe, critic=t.critic, detected=t.detected, probability=t.probability,
            detail=f"organism {names[run_id]}, run {run_id}", known_at=known_at[run_id],
        )


def _critic2_label() -> str:
    return f"{CRITIC2_REVIEW}@{get_critic(CRITIC2_REVIEW).version}"


def _critiques(store: Store) -> dict[int, list[ArtifactRecord]]:
    """Critic #2's critiques of each paper, oldest first."""
    out: dict[int, list[ArtifactRecord]] = {}
    for c in store.artifacts(kind=Kind.PAPER_CRITIQUE):
        for e in store.parents(c.id):
            if e.relation == Relation.DERIVED_FROM:
                out.setdefault(e.parent_id, []).append(c)
    for found in out.values():
        found.sort(key=lambda a: a.id)
    return out


def _stated(critiques: list[ArtifactRecord], before: datetime) -> float | None:
    """The severe-flaw probability of the latest critique made before `before`."""
    earlier = [c for c in critiques if c.created_at <= before]
    if not earlier:
        return None
    # The raw stated probability, never the report's `calibrated_probability`: a recalibration
    # map is fitted on raw probabilities (recalibration, `docs/learning.md`).
    value = earlier[-1].content_json.get("severe_flaw_probability")
    return float(value) if isinstance(value, int | float) else None


def _critic_of(flaw: FlawRecord) -> str:
    if flaw.critic is None:
        return ""
    return f"{flaw.critic}@{flaw.critic_version}" if flaw.critic_version else flaw.critic


def _review_labels(store: Store) -> Iterator[NewLabel]:
    critiques: dict[int, list[ArtifactRecord]] | None = None
    for label in store.review_labels():
        if label.decision == ReviewDecision.UNSURE or label.flaw_id is None:
            continue
        flaw = store.flaw(label.flaw_id)
        present = label.decision == ReviewDecision.CONFIRM
        severe = present and (label.corrected_severity or flaw.severity) in SEVERE
        common = dict(
            kind=LabelKind.ORGANIC, source=LabelSource.REVIEW,
            source_ref=f"review_label:{label.id}", subject=f"artifact:{flaw.artifact_id}",
            artifact_id=flaw.artifact_id, flaw_id=flaw.id, flaw_type=flaw.category,
            present=present, severe=severe,
            detail=f"{label.decision.value} by {label.reviewer}", known_at=label.created_at,
        )
        yield NewLabel(**common, critic=_critic_of(flaw), detected=True)  # type: ignore[arg-type]
        if critiques is None:
            critiques = _critiques(store)
        stated = _stated(critiques.get(flaw.artifact_id, []), label.created_at)
        if stated is not None:
            yield NewLabel(**common, critic=_critic2_label(),  # type: ignore[arg-type]
                           detected=flaw.critic == CRITIC2_REVIEW, probability=stated)


def _missed_by_critic2(
    store: Store, source: LabelSource, ref: str, flaw: FlawRecord, known_at: datetime,
    critiques: dict[int, list[ArtifactRecord]], detail: str,
) -> Iterator[NewLabel]:
    """A flaw found later: a label with no critic's verdict, and one for critic #2's earlier
    critique of the paper, which missed it."""
    common = dict(
        kind=LabelKind.ORGANIC, source=source, source_ref=ref,
        subject=f"artifact:{flaw.artifact_id}", artifact_id=flaw.artifact_id, flaw_id=flaw.id,
        flaw_type=flaw.category, present=True, severe=flaw.severity in SEVERE, detail=detail,
        known_at=known_at,
    )
    yield NewLabel(**common)  # type: ignore[arg-type]
    earlier = [c for c in critiques.get(flaw.artifact_id, []) if c.created_at < known_at]
    if earlier:
        stated = _stated(earlier, known_at)
        yield NewLabel(**common, critic=_critic2_label(),  # type: ignore[arg-type]
                       detected=False, probability=stated)


def _rereview_labels(store: Store) -> Iterator[NewLabel]:
    rereviews = store.artifacts(kind=Kind.REREVIEW)
    if not rereviews:
        return
    critiques = _critiques(store)
    for r in rereviews:
        for flaw_id in r.content_json.get("new_flaws", []):
            flaw = store.flaw(int(flaw_id))
            yield from _missed_by_critic2(
                store, LabelSource.REREVIEW, f"flaw:{flaw.id}", flaw, r.created_at, critiques,
                f"found by re-review {r.id}",
            )


def _contradiction_labels(store: Store) -> Iterator[NewLabel]:
    found = [f for f in store.flaws() if f.category == FlawCategory.CONTRADICTION]
    if not found:
        return
    critiques = _critiques(store)
    reports = {a.id: a for a in store.artifacts(
        ids=[f.found_by_id for f in found if f.found_by_id is not None])}
    for flaw in found:
        report = reports.get(flaw.found_by_id) if flaw.found_by_id is not None else None
        when = report.created_at if report is not None else None
        if when is None:
            continue  # no record of when it was found: no time to know it from
        yield from _missed_by_critic2(
            store, LabelSource.CONTRADICTION, f"flaw:{flaw.id}", flaw, when, critiques,
            f"contradicted by a later result (critic {flaw.critic or 'unknown'})",
        )


__all__ = ["CRITIC2_REVIEW", "SEVERE", "Collected", "collect_labels"]
