"""The flaw library (`docs/learning.md`, "The flaw library"): past flaws, retrieved by similarity
into critic and judge prompts as data.

Pure over store records, no model. An entry is one past flaw known to be real:

- a flaw critic #2's investigator confirmed (`flaw:<id>`, source `investigation`), unless a
  human reviewer dismissed it;
- a flaw a label names as present (`flaw:<id>`, the label's source: a human review's `confirm`,
  a re-review, a contradiction);
- a present label without a stored flaw (`label:<id>`, the first label row of its source
  record): a red-team injection's description, a model organism's misbehaviour.

Identical texts are kept once (the earliest entry). `FlawLibrary.retrieve` ranks entries by the
cosine similarity of their embeddings to a query (by default TF-IDF, fitted once on the
library's entries), ties by entry id, so a retrieval is a function of the snapshot and the
query. A snapshot is named by the last label and flaw ids it includes and a digest of its entries;
`library_version` records a `flaw_library` critic version for a reader whenever the entries it
would read have changed.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..embeddings import Embedder, TfidfEmbedder, TfidfIndex
from ..errors import DataError
from ..store import FlawRecord, LabelRecord, Store
from ..vocabulary import LabelSource, UpdateKind
from ._babble import FlawInvestigator

INVESTIGATION = "investigation"
"""The source of an entry that only critic #2's investigator confirmed."""

DESCRIPTION_CHARS = 200
"""Characters of a flaw's first line an entry keeps (as the recency list did)."""


@dataclass(frozen=True, kw_only=True)
class LibraryEntry:
    """One past flaw known to be real."""

    id: str
    """`flaw:<id>` (a stored flaw) or `label:<id>` (a label without a stored flaw)."""
    source: str
    """Where it came from: a `LabelSource` value, or `investigation`."""
    flaw_type: str
    """Its taxonomy category or red-team flaw type ('' when unknown)."""
    severity: str
    """`minor`, `major`, `critical`; for a label without a flaw, `severe` or `not severe`."""
    description: str
    """What was wrong, in one line."""
    origin: str
    """The record it was read from, for a person (`flaw 12 on artifact 40`, `review_label:3`)."""
    artifact_id: int | None = None
    """The artifact the flaw was in, when it is one of the research database's."""
    run_id: int | None = None
    """That artifact's run."""

    @property
    def text(self) -> str:
        """The line a prompt shows for it."""
        return f"{self.flaw_type or 'flaw'} ({self.severity}): {self.description}"

    @property
    def order(self) -> tuple[int, int]:
        """The entry's place among equals: stored flaws first, then labels, each by id."""
        kind, _, number = self.id.partition(":")
        return (0 if kind == "flaw" else 1, int(number))


@dataclass(frozen=True, kw_only=True)
class LibraryHit:
    """An entry retrieved for a query, with its similarity."""

    entry: LibraryEntry
    score: float
    """Cosine similarity to the query (rounded to 6 places, so equal scores tie exactly)."""


@dataclass(frozen=True, kw_only=True)
class LibrarySnapshot:
    """What identifies one state of the library."""

    entries: int
    last_label_id: int
    """The last label id any entry (or a dismissal that removed one) rests on; 0: none."""
    last_flaw_id: int
    """The last flaw id any entry rests on; 0: none."""
    digest: str
    """sha256 of the entries' ids and texts, in order."""
    embedder: str

    def params(self) -> dict[str, Any]:
        """As a critic version's `params`."""
        return {
            "entries": self.entries, "last_label_id": self.last_label_id,
            "last_flaw_id": self.last_flaw_id, "digest": self.digest, "embedder": self.embedder,
        }


class FlawLibrary:
    """Past flaws and a similarity search over them.

    Args:
        entries: the library's entries (any order; kept in entry-id order).
        last_label_id: the last label id they rest on (0: none).
        last_flaw_id: the last flaw id they rest on (0: none).
        embedder: how texts are compared (TF-IDF when None).
    """

    def __init__(
        self,
        entries: Sequence[LibraryEntry],
        *,
        last_label_id: int = 0,
        last_flaw_id: int = 0,
        embedder: Embedder | None = None,
    ) -> None:
        ids = [e.id for e in entries]
        if len(set(ids)) != len(ids):
            raise DataError(f"flaw library: entry ids repeat: {sorted(ids)}")
        self.entries: tuple[LibraryEntry, ...] = tuple(sorted(entries, key=lambda e: e.order))
        self.embedder: Embedder = embedder or TfidfEmbedder()
        self._lock = threading.Lock()  # the fitted index is built once, whichever thread asks
        self._index: TfidfIndex | None = None
        self._vectors: np.ndarray | None = None
        digest = hashlib.sha256("\n".join(
            f"{e.id}\t{e.text}" for e in self.entries).encode()).hexdigest()
        self.snapshot = LibrarySnapshot(
            entries=len(self.entries), last_label_id=last_label_id, last_flaw_id=last_flaw_id,
            digest=digest, embedder=self.embedder.name,
        )

    @classmethod
    def from_store(cls, store: Store, *, embedder: Embedder | None = None) -> FlawLibrary:
        """The library as the store holds it now (see the module's docstring)."""
        labels = store.labels()
        flaws = {f.id: f for f in store.flaws(critic=FlawInvestigator.id)}
        named = {lb.flaw_id for lb in labels if lb.flaw_id is not None}
        for flaw_id in sorted(named - set(flaws)):
            flaws[flaw_id] = store.flaw(flaw_id)
        dismissed = {
            lb.flaw_id for lb in labels
            if lb.flaw_id is not None and not lb.present and lb.source == LabelSource.REVIEW
        }
        confirmed_by: dict[int, LabelRecord] = {}
        for lb in labels:
            if lb.present and lb.flaw_id is not None:
                confirmed_by.setdefault(lb.flaw_id, lb)
        runs = store.runs_of([*(f.artifact_id for f in flaws.values()),
                              *(lb.artifact_id for lb in labels if lb.artifact_id is not None)])
        entries: list[LibraryEntry] = []
        last_label = max((lb.id for lb in labels if lb.flaw_id in dismissed), default=0)
        last_flaw = 0
        for flaw in sorted(flaws.values(), key=lambda f: f.id):
            label = confirmed_by.get(flaw.id)
            if flaw.id in dismissed and label is None:
                continue  # a reviewer dismissed it (a confirm by another reviewer wins)
            if label is None and flaw.critic != FlawInvestigator.id:
                continue
            entries.append(_flaw_entry(flaw, label, runs.get(flaw.artifact_id)))
            last_flaw = max(last_flaw, flaw.id)
            if label is not None:
                last_label = max(last_label, label.id)
        firsts: dict[tuple[str, str], LabelRecord] = {}
        for lb in labels:
            if lb.present and lb.flaw_id is None and lb.detail.strip():
                firsts.setdefault((lb.source.value, lb.source_ref), lb)
        for lb in sorted(firsts.values(), key=lambda x: x.id):
            entries.append(LibraryEntry(
                id=f"label:{lb.id}", source=lb.source.value, flaw_type=lb.flaw_type or "",
                severity="severe" if lb.severe else "not severe",
                description=_short(lb.detail), origin=f"{lb.source.value} {lb.source_ref}",
                artifact_id=lb.artifact_id,
                run_id=runs.get(lb.artifact_id) if lb.artifact_id is not None else None,
            ))
            last_label = max(last_label, lb.id)
        seen: set[str] = set()
        kept: list[LibraryEntry] = []
        for e in sorted(entries, key=lambda x: x.order):
            if e.text not in seen:  # the same injected flaw, labelled many times, once
                seen.add(e.text)
                kept.append(e)
        return cls(kept, last_label_id=last_label, last_flaw_id=last_flaw, embedder=embedder)

    def __len__(self) -> int:
        return len(self.entries)

    def by_source(self) -> dict[str, int]:
        """Entries per source, most first (ties by name)."""
        return dict(sorted(Counter(e.source for e in self.entries).items(),
                           key=lambda kv: (-kv[1], kv[0])))

    def by_type(self) -> dict[str, int]:
        """Entries per flaw type ('' unknown), most first (ties by name)."""
        return dict(sorted(Counter(e.flaw_type for e in self.entries).items(),
                           key=lambda kv: (-kv[1], kv[0])))

    def retrieve(
        self,
        query_text: str,
        k: int,
        *,
        categories: Collection[str] | None = None,
        exclude_artifacts: Collection[int] = (),
        exclude_runs: Collection[int] = (),
    ) -> list[LibraryHit]:
        """The `k` entries most similar to `query_text` (cosine of their embeddings; entries
        with nothing in common, score 0, are never returned), best first, equal scores by entry
        id. TF-IDF is fitted on the whole library, whatever the filters, so one snapshot and
        query always give the same scores.

        Args:
            query_text: what the hits should resemble.
            k: most hits returned.
            categories: only entries of these flaw types.
            exclude_artifacts: leave out entries on these artifacts (the subject's own flaws).
            exclude_runs: leave out entries of these runs (e.g. the current run, for "earlier
                projects").

        Raises:
            DataError: `k` is below 1.
        """
        if k < 1:
            raise DataError(f"flaw library: k must be at least 1, got {k}")
        if not self.entries or not query_text.strip():
            return []
        scores = self._scores(query_text)
        hits = [
            LibraryHit(entry=e, score=round(float(s), 6))
            for e, s in zip(self.entries, scores, strict=True)
            if (categories is None or e.flaw_type in categories)
            and (e.artifact_id is None or e.artifact_id not in exclude_artifacts)
            and (e.run_id is None or e.run_id not in exclude_runs)
        ]
        hits = [h for h in hits if h.score > 0.0]
        hits.sort(key=lambda h: (-h.score, h.entry.order))
        return hits[:k]


    def _scores(self, query_text: str) -> np.ndarray:
        """Each entry's cosine similarity to the query. TF-IDF is fitted on the entries once per
        library (`TfidfIndex`); another embedder embeds the entries once and the query each
        time."""
        with self._lock:
            if isinstance(self.embedder, TfidfEmbedder):
                if self._index is None:
                    self._index = TfidfIndex([e.text for e in self.entries])
                return self._index.similarities(query_text)
            if self._vectors is None:
                self._vectors = self.embedder.embed([e.text for e in self.entries])
            vectors = self._vectors
        query: np.ndarray = self.embedder.embed([query_text])[0]
        scores: np.ndarray = vectors @ query
        return scores


def _short(text: str) -> str:
    return text.strip().split("\n", 1)[0][:DESCRIPTION_CHARS]


def _flaw_entry(flaw: FlawRecord, label: LabelRecord | None, run_id: int | None) -> LibraryEntry:
    origin = f"flaw {flaw.id} on artifact {flaw.artifact_id}"
    if flaw.critic:
        origin += f" ({flaw.critic}@{flaw.critic_version or '?'})"
    if label is not None:
        origin += f", {label.source.value} {label.source_ref}"
    return LibraryEntry(
        id=f"flaw:{flaw.id}", source=label.source.value if label is not None else INVESTIGATION,
        flaw_type=flaw.category, severity=flaw.severity, description=_short(flaw.description),
        origin=origin, artifact_id=flaw.artifact_id, run_id=run_id,
    )


def library_version(
    store: Store, library: FlawLibrary, *, reader: str, base_version: str
) -> str:
    """The version label (`<reader>@<version>`) under which `reader` reads this snapshot.

    A reader's first non-empty library, and every later one whose entries or embedder differ
    from its active `flaw_library` update, is recorded as a new applied critic version (params:
    the snapshot's entry count, last label and flaw ids, digest and embedder); an unchanged
    library records nothing. An empty library that never had a version reads as the base.
    """
    with _VERSIONS:
        return _library_version(store, library, reader=reader, base_version=base_version)


_VERSIONS = threading.Lock()
"""Held while a reader's version is compared and recorded: two reviews of this process that
read the same changed library record one version, not two."""


def _library_version(
    store: Store, library: FlawLibrary, *, reader: str, base_version: str
) -> str:
    active = store.active_update(reader, UpdateKind.FLAW_LIBRARY)
    snap = library.snapshot
    if active is not None and (active.params.get("digest"), active.params.get("embedder")) == (
        snap.digest, snap.embedder
    ):
        return active.label
    if active is None and snap.entries == 0:
        return f"{reader}@{base_version}"
    before = int(active.params.get("entries", 0)) if active is not None else 0
    row = store.add_critic_version(
        critic=reader, base_version=base_version, update=UpdateKind.FLAW_LIBRARY,
        params=snap.params(),
        evidence={"by_source": library.by_source(), "entries_before": before},
        applied=True,
        reason=f"the flaw library changed: {snap.entries} entries (was {before}), last label "
        f"{snap.last_label_id}, last flaw {snap.last_flaw_id}, by {snap.embedder}",
    )
    return row.label


__all__ = [
    "DESCRIPTION_CHARS",
    "INVESTIGATION",
    "FlawLibrary",
    "LibraryEntry",
    "LibraryHit",
    "LibrarySnapshot",
    "library_version",
]
