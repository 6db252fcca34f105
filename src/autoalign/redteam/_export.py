"""The report's input files, written from the research database (`autoalign redteam export`).

- Organic flaws: every flaw a critic recorded on a real artifact (not on a run the red team
  made: an organism's or a tampered pipeline run), grouped into one flaw per set of records
  on the same artifact, of the same category, at overlapping locations (the rule
  `strict_match` uses), with the critics that recorded it: a detection history for
  capture-recapture.
- Texts: each injection's tampered text (`after`) and each organic flaw's flawed span, for the
  realism check.
- Trials: the experiment's, as `trials(store, experiment_id)` reads them.

The export reads the red-team tables; it is not a critic and nothing it writes goes back into
the research tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..store import ArtifactRecord, FlawRecord, Store
from ._change import get_path
from ._experiment import trials
from ._inputs import dump_models, dump_trials
from ._report import OrganicFlaw, TextSample

_AT = re.compile(
    r"^At: artifact (?P<artifact>\d+)(?:, (?P<field>.*?))?(?: line (?P<line>\d+))?"
    r"(?: \[(?P<start>\d+):(?P<end>\d+)\])?(?: \(confidence [0-9.]+\))?\s*$"
)
"""The location line `Finding.stored_description` writes (`At: artifact 7, code line 3
(confidence 1.00)`)."""


@dataclass(frozen=True, kw_only=True)
class StoredLocation:
    """Where a stored flaw points, as far as its record says."""

    artifact_id: int
    """The flawed artifact (the flaw record's)."""
    field: str | None = None
    """The field of the artifact, as the critic named it (`rows[3].value`, `sections.2.text`)."""
    line: int | None = None
    """A code line (1-based)."""
    start: int | None = None
    """Start of a text span in the field."""
    end: int | None = None
    """End (exclusive) of the span."""


def stored_location(flaw: FlawRecord) -> StoredLocation:
    """The location a flaw record's description gives (its last `At: ...` line); only the
    artifact when the description has none (a flaw recorded by hand)."""
    for line in reversed(flaw.description.splitlines()):
        m = _AT.match(line.strip())
        if m and int(m["artifact"]) == flaw.artifact_id:
            return StoredLocation(
                artifact_id=flaw.artifact_id,
                field=m["field"] or None,
                line=int(m["line"]) if m["line"] else None,
                start=int(m["start"]) if m["start"] else None,
                end=int(m["end"]) if m["end"] else None,
            )
    return StoredLocation(artifact_id=flaw.artifact_id)


def _norm(path: str) -> str:
    """`rows[3].value` and `rows.3.value` name the same field."""
    return re.sub(r"\[(\d+)\]", r".\1", path).strip(".")


def locations_overlap(a: StoredLocation, b: StoredLocation) -> bool:
    """Two flaws' locations overlap, as `strict_match` decides for an injection: the same
    artifact; where both name a field, the same field; where both give a code line, the same
    line; where both give a text span, overlapping spans. A location that gives less (no field,
    no span) overlaps anything on its artifact."""
    if a.artifact_id != b.artifact_id:
        return False
    if a.field is not None and b.field is not None and _norm(a.field) != _norm(b.field):
        return False
    if a.line is not None and b.line is not None:
        return a.line == b.line
    if None not in (a.start, a.end, b.start, b.end):
        assert a.start is not None and a.end is not None
        assert b.start is not None and b.end is not None
        return a.start <= b.end and a.end >= b.start
    return True


def critic_label(flaw: FlawRecord) -> str | None:
    """The critic as trials name it (`<id>@<version>`); None when no registered critic
    recorded the flaw."""
    if flaw.critic is None:
        return None
    return f"{flaw.critic}@{flaw.critic_version}" if flaw.critic_version else flaw.critic


@dataclass(kw_only=True)
class OrganicGroup:
    """One organic flaw: the flaw records of several critics that describe it."""

    artifact_id: int
    category: str
    records: list[FlawRecord] = field(default_factory=list)
    locations: list[StoredLocation] = field(default_factory=list)

    @property
    def key(self) -> str:
        """A stable key: artifact, category and the first record's id."""
        return f"artifact-{self.artifact_id}:{self.category}:flaw-{self.records[0].id}"

    @property
    def found_by(self) -> frozenset[str]:
        """The critics that recorded it."""
        return frozenset(c for c in map(critic_label, self.records) if c is not None)


def group_flaws(flaws: Iterable[FlawRecord]) -> list[OrganicGroup]:
    """Group flaw records into distinct flaws: two records are one flaw when they are on the
    same artifact, of the same category and at overlapping locations (`locations_overlap`),
    and grouping is transitive. Records without a registered critic are left out (they say
    nobody's detection). Groups come in the order of their first record."""
    groups: list[OrganicGroup] = []
    for flaw in sorted(flaws, key=lambda f: f.id):
        if critic_label(flaw) is None:
            continue
        loc = stored_location(flaw)
        hits = [g for g in groups
                if g.artifact_id == flaw.artifact_id and g.category == flaw.category
                and any(locations_overlap(loc, other) for other in g.locations)]
        if not hits:
            groups.append(OrganicGroup(artifact_id=flaw.artifact_id, category=flaw.category,
                                       records=[flaw], locations=[loc]))
            continue
        keep = hits[0]
        keep.records.append(flaw)
        keep.locations.append(loc)
        for other in hits[1:]:  # the new record joins groups that did not overlap each other
            keep.records += other.records
            keep.locations += other.locations
            groups.remove(other)
        keep.records.sort(key=lambda f: f.id)
    return groups


def flawed_text(artifact: ArtifactRecord, loc: StoredLocation) -> str | None:
    """The text a flaw points at: the span (or code line) of its field, else the whole field
    when it is text; None when the location names no text (no field, or not found)."""
    text: Any = None
    if loc.field is not None and isinstance(artifact.content_json, dict | list):
        try:
            text = get_path(artifact.content_json, _norm(loc.field))
        except KeyError:
            text = None
    elif loc.field is None and (loc.line is not None or loc.start is not None):
        text = artifact.content_text
    if not isinstance(text, str) or not text.strip():
        return None
    if loc.line is not None:
        lines = text.splitlines()
        return lines[loc.line - 1] if 0 < loc.line <= len(lines) else None
    if loc.start is not None and loc.end is not None:
        span = text[loc.start:loc.end]
        return span if span.strip() else None
    return text


def redteam_runs(store: Store) -> set[int]:
    """Runs the red team made (organisms' runs, and runs a pipeline experiment tampered with):
    their flaws are not organic."""
    runs = {f.run_id for f in store.organism_flaws()}
    tampered = [i.artifact_id for e in store.redteam_experiments()
                for i in store.redteam_injections(e.id)
                if i.method == "pipeline" and i.artifact_id is not None]
    runs |= {a.run_id for a in store.artifacts(ids=tampered) if a.run_id is not None}
    return runs


@dataclass(frozen=True, kw_only=True)
class Export:
    """What `export` wrote."""

    organic: Path
    """`organic.jsonl`: one `OrganicFlaw` a line."""
    texts: Path
    """`texts.jsonl`: one `TextSample` a line."""
    trials: Path | None
    """`trials.jsonl` of the experiment (None without one)."""
    n_organic: int
    """Organic flaws written."""
    n_records: int
    """Flaw records they group."""
    skipped_no_critic: int
    """Flaw records left out because no registered critic recorded them."""
    n_injected_texts: int
    """Injected texts written."""
    n_organic_texts: int
    """Organic texts written (organic flaws whose location names a text)."""
    n_trials: int
    """Trials written."""
    critics: list[str] = field(default_factory=list)
    """The critics that recorded an organic flaw (the capture occasions)."""


def organic_flaws(store: Store) -> tuple[list[OrganicGroup], int]:
    """The database's organic flaws, grouped, and how many records had no critic."""
    skip = redteam_runs(store)
    records = store.flaws()
    by_id = {a.id: a for a in store.artifacts(ids=sorted({f.artifact_id for f in records}))}
    real = [f for f in records
            if f.artifact_id in by_id and by_id[f.artifact_id].run_id not in skip]
    no_critic = sum(1 for f in real if critic_label(f) is None)
    return group_flaws(real), no_critic


def export(store: Store, out: Path, *, experiment_id: int | None = None) -> Export:
    """Write `organic.jsonl`, `texts.jsonl` and (with an experiment) `trials.jsonl` into `out`.

    Every organic flaw lists as `critics` every critic that recorded an organic flaw anywhere
    in the database: those are the occasions the report counts (a critic that recorded none
    is not known to have looked).
    """
    groups, no_critic = organic_flaws(store)
    critics = sorted({c for g in groups for c in g.found_by})
    organic = [OrganicFlaw(flaw=g.key, found_by=g.found_by, critics=frozenset(critics))
               for g in groups]
    arts = {a.id: a for a in store.artifacts(ids=sorted({g.artifact_id for g in groups}))}
    organic_texts: list[TextSample] = []
    for g in groups:
        text = _group_text(arts[g.artifact_id], g.locations)
        if text is not None:
            organic_texts.append(TextSample(text=text, injected=False))
    injected: list[TextSample] = []
    got_trials = []
    if experiment_id is not None:
        injected = [TextSample(text=i.after, injected=True)
                    for i in store.redteam_injections(experiment_id) if i.after.strip()]
        got_trials = trials(store, experiment_id)
    out.mkdir(parents=True, exist_ok=True)
    trials_path = (dump_trials(got_trials, out / "trials.jsonl")
                   if experiment_id is not None else None)
    return Export(
        organic=dump_models(organic, out / "organic.jsonl"),
        texts=dump_models([*injected, *organic_texts], out / "texts.jsonl"),
        trials=trials_path,
        n_organic=len(organic), n_records=sum(len(g.records) for g in groups),
        skipped_no_critic=no_critic, n_injected_texts=len(injected),
        n_organic_texts=len(organic_texts), n_trials=len(got_trials), critics=critics,
    )


def _group_text(artifact: ArtifactRecord, locations: Sequence[StoredLocation]) -> str | None:
    """The narrowest text any of a group's records points at."""
    found = [t for t in (flawed_text(artifact, loc) for loc in locations) if t is not None]
    return min(found, key=len) if found else None


__all__ = [
    "Export",
    "OrganicGroup",
    "StoredLocation",
    "critic_label",
    "export",
    "flawed_text",
    "group_flaws",
    "locations_overlap",
    "organic_flaws",
    "redteam_runs",
    "stored_location",
]
