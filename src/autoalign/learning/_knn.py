"""A nearest-neighbour critic over labelled flaws: a learner that needs no fine-tuning and no
model (`docs/learning.md`, "Learning curves").

It is fitted on labels: every label of a known flaw read from a red-team trial brings the text
the injection put into its subject (the injection record's `after`, for a change to a text
field). Shown a subject, it splits every text field into sentences and lines, and flags the one
most similar (TF-IDF cosine, `autoalign.embeddings.TfidfEmbedder`) to an example when the
similarity reaches its threshold, reporting the example's flaw type (as its category) at that
sentence's place, so the strict matcher can match it.

Its version is the label snapshot it was fitted on: a critic version row
(`UpdateKind.FLAW_LIBRARY`) whose params name the examples' count and digest and the last label
id read. A fit that changes nothing (the same examples) records no version.

It sees wording, not meaning: a flaw that shows only in a number or a structured value (a
changed digit, an appended log row) gives it nothing to learn from.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..critics import Finding, Location, PaperDraft
from ..embeddings import TfidfEmbedder
from ..models import ModelClient
from ..redteam import Checked, Subject, flaw_type
from ..store import CriticVersionRecord, LabelRecord, Store
from ..vocabulary import LabelSource, UpdateKind

KNN_VERSION = "1"
"""The algorithm's version: the base of every fitted version (`1+flaw_library.3`)."""

DEFAULT_THRESHOLD = 0.6
"""TF-IDF cosine at or above which a sentence counts as a neighbour of a flawed example."""

_SPLIT = re.compile(r"\n+|(?<=[.!?])\s+")
"""Where a text field is cut into units: line breaks, and the space after a sentence's end."""

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?%?")
"""Numbers, left out before comparing: a flaw's wording is its signature, not its digits (a
reference to run 72 and one to run 83 are the same flaw)."""


def wording(text: str) -> str:
    """The text as the critic compares it: numbers dropped, white space collapsed."""
    return " ".join(_NUMBER.sub(" ", text).split())


@dataclass(frozen=True, kw_only=True)
class FlawExample:
    """One labelled flaw the critic compares subjects with."""

    flaw_type: str
    """The red-team flaw type of the label."""
    text: str
    """The text the flaw put into its subject."""
    label_id: int
    """The first label it was read from."""
    source_ref: str
    """That label's source record (`<experiment>:<subject key>`)."""


@dataclass(frozen=True, kw_only=True)
class Unit:
    """A sentence or line of one text field of a subject."""

    path: str
    """The field's dotted path in the subject's dump (`sections.2.text`)."""
    artifact_id: int
    """The artifact the field belongs to."""
    start: int
    """Start offset in the field's text."""
    end: int
    """End offset (exclusive)."""
    text: str
    """The unit's text."""


def _artifact(data: Any, parts: list[str], root: int | None) -> int | None:
    """The artifact of the deepest node on the path that names one, else the subject's root."""
    found = root
    node = data
    for part in parts:
        if isinstance(node, dict):
            if isinstance(node.get("artifact_id"), int):
                found = node["artifact_id"]
            elif isinstance(node.get("paper_id"), int):
                found = node["paper_id"]
            node = node.get(part)
        elif isinstance(node, list | tuple) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            break
    return found


def _leaves(data: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(data, list | tuple):
        for i, value in enumerate(data):
            yield from _leaves(value, f"{prefix}.{i}" if prefix else str(i))
    elif isinstance(data, str) and data.strip():
        yield prefix, data


def units(subject: Subject) -> list[Unit]:
    """Every sentence and line of the subject's text fields, with where it is."""
    data = subject.model_dump(mode="python")
    root = subject.paper_id if isinstance(subject, PaperDraft) else None
    out: list[Unit] = []
    for path, text in _leaves(data):
        artifact = _artifact(data, path.split("."), root)
        if artifact is None:
            continue
        start = 0
        for m in [*_SPLIT.finditer(text), None]:
            end = m.start() if m is not None else len(text)
            piece = text[start:end]
            if piece.strip():
                lead = len(piece) - len(piece.lstrip())
                out.append(Unit(path=path, artifact_id=artifact, start=start + lead,
                                end=start + len(piece.rstrip()), text=piece.strip()))
            if m is not None:
                start = m.end()
    return out


@dataclass(frozen=True, kw_only=True)
class KnnCritic:
    """The nearest-neighbour critic at one version (one label snapshot)."""

    id: str
    """The critic's id (its versions are recorded under it)."""
    version: str
    """`1` while it has seen no label, then the fitted version (`1+flaw_library.2`)."""
    examples: tuple[FlawExample, ...]
    """The labelled flaws it compares subjects with."""
    threshold: float = DEFAULT_THRESHOLD
    """Cosine at or above which it flags."""

    @property
    def label(self) -> str:
        """`<id>@<version>`, as trials and labels name it."""
        return f"{self.id}@{self.version}"

    def findings(self, subject: Subject) -> list[Finding]:
        """One finding per text unit whose nearest example is at least `threshold` similar."""
        if not self.examples:
            return []
        found = units(subject)
        if not found:
            return []
        texts = [wording(e.text) for e in self.examples] + [wording(u.text) for u in found]
        vectors = TfidfEmbedder().embed(texts)
        k = len(self.examples)
        similarity = vectors[k:] @ vectors[:k].T
        out: list[Finding] = []
        for i, unit in enumerate(found):
            j = int(similarity[i].argmax())
            score = float(similarity[i, j])
            if score < self.threshold - 1e-12:
                continue
            example = self.examples[j]
            ft = flaw_type(example.flaw_type)
            out.append(Finding(
                category=ft.category, severity=ft.severity,
                description=f"resembles a labelled {ft.id} flaw (cosine {score:.2f})"[:2000],
                evidence=f"label {example.label_id} ({example.source_ref})"[:2000],
                location=Location(artifact_id=unit.artifact_id, field=unit.path[:200],
                                  start=unit.start, end=unit.end),
                confidence=min(max(score, 0.0), 1.0),
            ))
        return out

    async def check(self, subject: Subject, *, models: ModelClient | None = None) -> Checked:
        """The critic's findings about `subject` (no model is asked; `models` is ignored). It
        states no severe-flaw probability."""
        return Checked(findings=self.findings(subject))


def examples_from_labels(store: Store, labels: Sequence[LabelRecord]) -> list[FlawExample]:
    """The distinct flawed examples the labels point at: each label of a present flaw read from
    a red-team trial, with the text its injection put into a text field (one example per flaw
    type and wording, numbers aside: the first label's). Other labels bring no text and are
    skipped."""
    injections: dict[str, dict[str, tuple[str, str]]] = {}
    names = {e.name: e.id for e in store.redteam_experiments()}
    seen: set[tuple[str, str]] = set()
    out: list[FlawExample] = []
    for label in sorted(labels, key=lambda r: r.id):
        if (label.source != LabelSource.REDTEAM_TRIAL or not label.present
                or label.flaw_type is None):
            continue
        experiment, _, key = label.source_ref.partition(":")
        if experiment not in names:
            continue
        if experiment not in injections:
            injections[experiment] = {
                i.subject_key: (i.flaw_type, i.after)
                for i in store.redteam_injections(names[experiment]) if i.span_start is not None
            }
        found = injections[experiment].get(key)
        if found is None or not any(ch.isalpha() for ch in wording(found[1])):
            continue  # nothing but numbers or symbols: no wording to learn
        text = " ".join(found[1].split())
        if (found[0], wording(text)) in seen:
            continue  # the same wording as an example it has: nothing new to compare with
        seen.add((found[0], wording(text)))
        out.append(FlawExample(flaw_type=found[0], text=text, label_id=label.id,
                               source_ref=label.source_ref))
    return out


def _digest(examples: Sequence[FlawExample], threshold: float) -> str:
    body = json.dumps([[e.flaw_type, wording(e.text)] for e in examples] + [threshold])
    return hashlib.sha256(body.encode()).hexdigest()


def fit_knn(
    store: Store, *, critic: str, labels: Sequence[LabelRecord],
    threshold: float = DEFAULT_THRESHOLD, reason: str = "",
) -> KnnCritic:
    """The critic fitted on `labels`, recording a new critic version when its examples differ
    from those of its active version (a fit on the same examples reuses that version).

    Args:
        store: where the labels' injections are read and the version is recorded.
        critic: the critic's id.
        labels: the labels it may learn from (the caller chooses which are known by now).
        threshold: cosine at or above which it flags.
        reason: why the update was made (kept on the version row).
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    examples = examples_from_labels(store, labels)
    if not examples:
        return KnnCritic(id=critic, version=KNN_VERSION, examples=(), threshold=threshold)
    digest = _digest(examples, threshold)
    active: CriticVersionRecord | None = store.active_update(critic, UpdateKind.FLAW_LIBRARY)
    if active is None or active.params.get("digest") != digest:
        by_type: dict[str, int] = {}
        for e in examples:
            by_type[e.flaw_type] = by_type.get(e.flaw_type, 0) + 1
        active = store.add_critic_version(
            critic=critic, base_version=KNN_VERSION, update=UpdateKind.FLAW_LIBRARY,
            params={"entries": len(examples), "last_label_id": max(r.id for r in labels),
                    "threshold": threshold, "digest": digest},
            evidence={"labels": len(labels), "by_type": by_type},
            applied=True,
            reason=reason or f"fitted on {len(examples)} flawed example(s) from "
                             f"{len(labels)} label(s)",
        )
    return KnnCritic(id=critic, version=active.version, examples=tuple(examples),
                     threshold=threshold)


__all__ = [
    "DEFAULT_THRESHOLD",
    "KNN_VERSION",
    "FlawExample",
    "KnnCritic",
    "Unit",
    "examples_from_labels",
    "fit_knn",
    "units",
]
