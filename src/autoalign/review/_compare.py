"""Human comparisons: a person says which of two topics' positive cases is the better case.

Each is a judgments row (`source = human`, the reviewer and the time, the case shown first as
its artifact and the other as `other_artifact_id`, `decision` first / second / tie). Stage 1
counts them in its Bradley-Terry allocation with the agenda's `human_weight`, matched to the
agenda's topics by name, so a comparison made on one run's cases informs every later run of
those topics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .._text import clip
from ..errors import UsageError
from ..store import ArtifactSummary, JudgmentRecord, Store
from ..vocabulary import JudgmentSource, Kind, Role
from ._decide import check_reviewer

Better = Literal["first", "second", "tie"]

COMMENT_CHARS = 2000


def add_comparison(
    store: Store,
    first: int,
    second: int,
    *,
    better: Better,
    reviewer: str | None,
    comment: str = "",
) -> JudgmentRecord:
    """Record a human's comparison of two positive cases of different topics.

    Raises:
        UsageError: no reviewer, an id that is not a positive case, the same case twice, two
            cases of one topic, or a comment over `COMMENT_CHARS` characters.
    """
    name = check_reviewer(reviewer)
    if first == second:
        raise UsageError(f"compare two different cases, got {first} twice")
    if len(comment) > COMMENT_CHARS:
        raise UsageError(f"the comment has {len(comment)} characters; at most {COMMENT_CHARS}")
    found = {a.id: a for a in store.artifact_summaries(ids=[first, second])}
    for artifact_id in (first, second):
        artifact = found.get(artifact_id)
        if artifact is None:
            raise UsageError(
                f"no artifact {artifact_id}; `autoalign compare list RUN_ID` lists a run's cases"
            )
        if artifact.kind != Kind.POSITIVE_CASE:
            raise UsageError(
                f"artifact {artifact_id} is a {artifact.kind}, not a positive_case; "
                "`autoalign compare list RUN_ID` lists a run's cases"
            )
    topics = store.topic_names([first, second])
    if topics.get(first) == topics.get(second):
        raise UsageError(
            f"cases {first} and {second} both argue for topic {clip(topics.get(first) or '?')!r};"
            " compare cases of two different topics"
        )
    return store.add_judgment(
        artifact_id=first,
        other_artifact_id=second,
        role=Role.JUDGE,
        decision=better,
        rationale=comment,
        source=JudgmentSource.HUMAN,
        reviewer=name,
    )


@dataclass(frozen=True, kw_only=True)
class TopicCases:
    """A run's positive cases of one topic."""

    topic: str
    cases: list[ArtifactSummary]


def run_cases(store: Store, run_id: int) -> list[TopicCases]:
    """A run's positive cases grouped by topic, in the order the topics were recorded."""
    cases = store.artifact_summaries(run_id=run_id, kind=Kind.POSITIVE_CASE)
    names = store.topic_names([c.id for c in cases])
    grouped: dict[str, list[ArtifactSummary]] = {}
    for case in cases:
        grouped.setdefault(names.get(case.id, "?"), []).append(case)
    return [TopicCases(topic=t, cases=c) for t, c in grouped.items()]


def human_comparisons(store: Store) -> list[JudgmentRecord]:
    """Every human comparison of positive cases, oldest first."""
    return store.pairwise_judgments(kind=Kind.POSITIVE_CASE, source=JudgmentSource.HUMAN)


__all__ = ["Better", "TopicCases", "add_comparison", "human_comparisons", "run_cases"]
