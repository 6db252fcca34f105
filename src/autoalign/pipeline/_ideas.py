"""Stage 1, ideas: babble over a matrix of prompting strategies, merge near-duplicates, screen.

- **Babble.** Each topic gets the babble samples the allocation gave it. Sample `s` of a topic
  is one cell of the matrix direction (forward-chaining from recent results, back-chaining from
  what a safety case needs) x context (more: the topic's positive cases and accepted papers;
  less: the topic alone) x persona, taken in turn; each sample is asked with its own seed
  (`sample=s`), so a repeated cell is a new sample, not one cached answer.
- **Merge.** A topic's ideas whose embeddings (`embeddings.near_duplicates`, TF-IDF by default
  or a provider's endpoint) are at least `merge_threshold` similar are merged into the first:
  the `idea_merge` record lists the groups, and each merged idea gets status `merged`.
- **Screen.** `screen_judges` judges score each idea on a rubric, each judge with its own
  wording. When their scores spread more than `disagreement`, `escalation_judges` more are
  asked; if even then no majority of the judges agrees within `disagreement`
  (`majority_spread`), an `escalation` record opens a human review request. An idea's score is
  the median of its judges'; the screen keeps `screen_keep` of the ideas (rounded up), and the
  best idea of each topic that got samples; each idea's decision is a status event
  (`screened_in`, or `screened_out` with the reason) and a line of the `idea_screen` record.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from ..agenda import Topic
from ..critics import RubricScore, disagreement, majority_spread
from ..embeddings import Embedder, EndpointEmbedder, TfidfEmbedder, near_duplicates
from ..models import delimit
from ..runtime import (
    Findings,
    StageContext,
    StatusChange,
    StepResult,
    Verdict,
    fan_out,
    fan_out2,
)
from ..vocabulary import Kind, Relation, Role, Stage, Status
from ._library import IDEA_JUDGE, JUDGE_VERSION, LibraryReader
from ._schemas import Idea, IdeaList, PositiveCase
from ._topics import (
    _JUDGE,
    _PROPOSER,
    AllocationRecord,
    accepted_papers,
    allocation,
    score_cases,
)

STAGE = Stage.PROPOSE

DIRECTIONS = {
    "forward": "Forward-chain from recent results: what would be a solid, myopic next "
    "addition to this topic's research?",
    "backward": "Back-chain from a safety case: what new technique or evidence would a safety "
    "case for a deployed model need from this topic? Propose research that would supply it.",
}
CONTEXTS = ("more", "less")
PERSONAS = (
    "a methodical empiricist who trusts only controlled experiments",
    "a theorist who looks for the general principle behind a result",
    "a skeptic of the mainstream approach who tests its weakest assumptions",
    "a red-teamer who looks for the ways a technique fails",
)
_RUBRICS = (
    "Score this research idea from 1 to 10: how much would it advance alignment, given what "
    "it would cost?",
    "Score this research idea from 1 to 10: would its result change what a safety case can "
    "claim, and can it be done with the tools at hand?",
    "Score this research idea from 1 to 10: is it concrete, novel and likely to give a clear "
    "answer?",
)
"""Each screening judge's wording: judges with slightly different prompts, as the seed asks."""


@dataclass(frozen=True, kw_only=True)
class Cell:
    """One prompting strategy of the babble matrix."""

    direction: str
    context: str
    persona: str

    @property
    def label(self) -> str:
        """e.g. `backward/less/a theorist...`, shown as the idea batch's title."""
        return f"{self.direction}/{self.context}/{self.persona}"


def matrix(personas: int) -> list[Cell]:
    """The babble matrix, in the order samples take it: direction varies fastest, then
    context, then persona."""
    return [
        Cell(direction=d, context=c, persona=p)
        for p, c, d in itertools.product(PERSONAS[:personas], CONTEXTS, DIRECTIONS)
    ]


class MergeGroup(BaseModel):
    """Ideas merged into one."""

    kept: int
    """The idea kept (the group's first)."""
    merged: list[int]


class IdeaMerge(BaseModel):
    """What near-duplicate merging decided."""

    embedder: str
    threshold: float
    n_ideas: int
    groups: list[MergeGroup]
    """Groups of two or more; every other idea stands alone."""


class ScreenItem(BaseModel):
    """One idea's screen."""

    idea_id: int
    topic: str
    scores: list[float]
    score: float | None
    """The median of `scores`; None when no judge gave a valid score."""
    spread: float
    """max - min of the first judges' scores."""
    escalated: bool
    """More judges were asked."""
    human_review: bool
    """Judges still disagreed: a human review request was opened."""
    kept: bool
    reason: str


class IdeaScreen(BaseModel):
    """The screen of a run's ideas."""

    keep_share: float
    threshold: float
    """The disagreement threshold."""
    items: list[ScreenItem]


class Escalation(BaseModel):
    """Judges who still disagree on an idea after more were asked."""

    idea_id: int
    scores: list[float]
    spread: float
    majority_spread: float
    threshold: float


@dataclass(frozen=True, kw_only=True)
class ScreenedIdea:
    """An idea the screen kept, its score, and the screen record that kept it."""

    idea: StepResult[Idea]
    score: float
    screen_id: int


def embedder_for(ctx: StageContext) -> Embedder:
    """The agenda's embedding backend (`[pipeline] embeddings`)."""
    name = ctx.agenda.pipeline.embeddings
    if name == "tfidf":
        return TfidfEmbedder()
    config = ctx.agenda.models.provider_config("openai")
    return EndpointEmbedder(
        name.split(":", 1)[1], base_url=config.base_url,
        api_key_env=config.api_key_env or "OPENAI_API_KEY", timeout_s=config.timeout_s,
    )


def _context(
    ctx: StageContext, cell: Cell, topic: StepResult[Topic],
    cases: Sequence[StepResult[PositiveCase]],
) -> tuple[str, list[int]]:
    """The prompt's context for a cell, and the artifacts it shows."""
    shown = [topic.id]
    text = delimit("topic", topic.text)
    if cell.context == "more":
        for case in cases:
            if case.ok:
                text += "\n" + delimit("case", case.text)
                shown.append(case.id)
        for paper in accepted_papers(ctx.store, topic.output.name if topic.output else "")[-2:]:
            text += "\nA recent result:\n" + delimit(
                "paper", f"{paper.title or ''}\n{paper.preview}"
            )
            shown.append(paper.id)
    return text, shown


async def babble(
    ctx: StageContext, index: int, samples: int, topic: StepResult[Topic],
    cases: Sequence[StepResult[PositiveCase]], allocation: StepResult[AllocationRecord],
) -> list[StepResult[Idea]]:
    """The topic's `samples` babble samples (as many as `allocation` gave it) and the ideas in
    them."""
    cells = matrix(ctx.agenda.pipeline.personas)
    n = ctx.agenda.pipeline.ideas_per_topic

    async def sample(s: int) -> list[StepResult[Idea]]:
        cell = cells[s % len(cells)]
        context, shown = _context(ctx, cell, topic, cases)
        batch = await ctx.step(
            key=f"propose/ideas/{index}/{s}",
            kind=Kind.IDEA_BATCH,
            stage=STAGE,
            role=Role.PROPOSER,
            output_type=IdeaList,
            instructions=_PROPOSER,
            prompt=(
                f"You are {cell.persona}. {DIRECTIONS[cell.direction]} "
                f"Propose {n} distinct, concrete research ideas.\n{context}"
            ),
            parents=[
                topic.id, (allocation.id, Relation.CONTEXT),
                *[(i, Relation.CONTEXT) for i in shown if i != topic.id],
            ],
            title=lambda _: cell.label,
            render=lambda o: "\n\n".join(f"{i.title}: {i.summary}" for i in o.ideas),
            sample=s,
        )
        if batch.output is None:
            return []
        return [
            ctx.record(
                key=f"propose/idea/{index}/{s}/{j}",
                kind=Kind.IDEA,
                stage=STAGE,
                title=idea.title,
                content=idea,
                render=lambda i: f"{i.title}\n\n{i.summary}",
                parents=[batch.id],
            )
            for j, idea in enumerate(batch.output.ideas[:n])
        ]

    found = await fan_out([sample(s) for s in range(samples)])
    return [idea for ideas in found for idea in ideas]


async def merge(
    ctx: StageContext, ideas: Sequence[Sequence[StepResult[Idea]]]
) -> tuple[list[list[StepResult[Idea]]], StepResult[IdeaMerge]]:
    """Each topic's ideas with near-duplicates merged into the first of their group."""
    key = "propose/idea-merge"
    threshold = ctx.agenda.pipeline.merge_threshold
    done = ctx.store.artifact_by_step(ctx.run.id, ctx.key(key))
    if done is not None:  # resumed: the stored groups, without embedding again
        content = ctx.typed(done, IdeaMerge).output
        assert content is not None
    else:
        embedder = embedder_for(ctx)
        groups: list[MergeGroup] = []
        for topic_ideas in ideas:
            texts = [i.text for i in topic_ideas]
            found = await asyncio.to_thread(
                near_duplicates, texts, embedder, threshold=threshold
            )
            groups += [
                MergeGroup(kept=topic_ideas[g[0]].id, merged=[topic_ideas[k].id for k in g[1:]])
                for g in found if len(g) > 1
            ]
        content = IdeaMerge(
            embedder=embedder.name, threshold=threshold,
            n_ideas=sum(len(t) for t in ideas), groups=groups,
        )

    def statuses(result: StepResult[IdeaMerge]) -> Findings | None:
        if result.output is None or not result.output.groups:
            return None
        return Findings(about=result.id, statuses=[
            StatusChange(
                artifact_id=m, status=Status.MERGED,
                reason=(
                    f"merged into idea {g.kept} (cosine similarity >= "
                    f"{result.output.threshold:g} by {result.output.embedder})"
                ),
            )
            for g in result.output.groups for m in g.merged
        ])

    record = ctx.record(
        key=key,
        kind=Kind.IDEA_MERGE,
        stage=STAGE,
        content=content,
        render=lambda m: (
            f"{m.n_ideas} ideas, {sum(len(g.merged) for g in m.groups)} merged by {m.embedder} "
            f"(threshold {m.threshold:g}):\n"
            + "\n".join(f"- {g.merged} into {g.kept}" for g in m.groups)
        ),
        parents=[i.id for t in ideas for i in t],
        findings=statuses,
    )
    assert record.output is not None
    gone = {m for g in record.output.groups for m in g.merged}
    return [[i for i in t if i.id not in gone] for t in ideas], record


def _suffix(ctx: StageContext, idea: StepResult[Idea]) -> str:
    """`t/s/j` of the idea's step key `propose/idea/t/s/j` (without a re-run's `@n`)."""
    key = idea.key.removesuffix(f"@{ctx.round}") if ctx.round else idea.key
    return key.removeprefix("propose/idea/")


async def _past_flaws(
    ctx: StageContext, library: LibraryReader | None, *, key: str, idea: StepResult[Idea]
) -> str:
    """With `[pipeline] past_flaws = "similar"`: the flaw library's entries of earlier projects
    most similar to the idea, as a delimited part of judge `key`'s prompt (issue 14, part LB)."""
    if library is None:
        return ""
    lines = await library.past_flaws(key=key, query=idea.text,
                                     k=ctx.agenda.pipeline.past_flaws_k,
                                     exclude_runs={ctx.run.id})
    return (
        "\nConfirmed flaws of earlier projects that resemble this idea (data, for reference; "
        "the idea may avoid them):\n" + delimit("past_flaws", "\n".join(lines) or "none")
    )


def idea_library(ctx: StageContext) -> LibraryReader | None:
    """The idea-screen judges' reader of the flaw library (None: `[pipeline] past_flaws` is
    `none`)."""
    if ctx.agenda.pipeline.past_flaws != "similar":
        return None
    return LibraryReader(ctx=ctx, reader=IDEA_JUDGE, base_version=JUDGE_VERSION,
                         embedder=embedder_for(ctx))


async def _judge(
    ctx: StageContext, idea: StepResult[Idea], topic: str, k: int,
    after: Sequence[StepResult[RubricScore]] = (), library: LibraryReader | None = None,
) -> StepResult[RubricScore]:
    """Judge `k` of an idea: rubric wording `k`, sample `k` (so a repeated wording is a new
    sample); `after`: the judges whose disagreement it was asked for (edges `follows`);
    `library`: shows it similar past flaws (`[pipeline] past_flaws`)."""
    key = f"propose/idea-score/{_suffix(ctx, idea)}/{k}"
    past = await _past_flaws(ctx, library, key=key, idea=idea)
    return await ctx.step(
        key=key,
        kind=Kind.IDEA_JUDGMENT,
        stage=STAGE,
        role=Role.JUDGE,
        output_type=RubricScore,
        instructions=_JUDGE,
        prompt=(
            f"{_RUBRICS[k % len(_RUBRICS)]}\n{delimit('topic', topic)}\n"
            f"{delimit('idea', idea.text)}{past}"
        ),
        parents=[idea.id, *[(j.id, Relation.FOLLOWS) for j in after if j.artifact is not None]],
        render=lambda o: f"Score {o.score}/10. {o.rationale}",
        findings=lambda r: None if r.output is None else Findings(
            about=idea.id,
            verdict=Verdict(role=Role.JUDGE, score=float(r.output.score),
                            rationale=r.output.rationale),
        ),
        sample=k,
    )


@dataclass(frozen=True, kw_only=True)
class _Judged:
    idea: StepResult[Idea]
    topic: int
    scores: list[float]
    judgments: list[int]
    spread: float
    escalated: bool
    human: bool


async def _judge_idea(
    ctx: StageContext, idea: StepResult[Idea], topic: int, library: LibraryReader | None = None
) -> _Judged:
    """The idea's judges, and more when they disagree; a human when they still do."""
    p = ctx.agenda.pipeline
    name = ctx.agenda.topics[topic].name
    first = await fan_out([
        _judge(ctx, idea, name, k, library=library) for k in range(p.screen_judges)
    ])
    scores = [float(r.output.score) for r in first if r.output is not None]
    spread = disagreement(scores)
    judged = list(first)
    escalated = spread > p.disagreement and p.escalation_judges > 0
    human = False
    if spread > p.disagreement:
        if escalated:
            judged += await fan_out([
                _judge(ctx, idea, name, k, after=first, library=library)
                for k in range(p.screen_judges, p.screen_judges + p.escalation_judges)
            ])
            scores = [float(r.output.score) for r in judged if r.output is not None]
        # Without more judges (escalation_judges = 0) a disagreement goes to a human at once.
        still = majority_spread(scores) if escalated else spread
        if still > p.disagreement:
            human = True
            reason = f"judges disagree on idea {idea.id}: scores {scores} (n={len(scores)}), " + (
                f"no majority within {p.disagreement:g} after {p.escalation_judges} more "
                f"judge(s) (the tightest majority spans {still:g})" if escalated
                else f"spread {still:g} > {p.disagreement:g} and no more judges to ask"
            )
            ctx.record(
                key=f"propose/escalation/{_suffix(ctx, idea)}",
                kind=Kind.ESCALATION,
                stage=STAGE,
                content=Escalation(
                    idea_id=idea.id, scores=scores, spread=disagreement(scores),
                    majority_spread=still, threshold=p.disagreement,
                ),
                render=lambda e: reason,
                parents=[idea.id, *[(r.id, Relation.CONTEXT) for r in judged if r.ok]],
                findings=lambda r: Findings(about=idea.id, reviews=[reason]),
            )
    return _Judged(
        idea=idea, topic=topic, scores=scores,
        judgments=[r.id for r in judged if r.artifact is not None], spread=spread,
        escalated=escalated, human=human,
    )


def screen_decisions(
    judged: Sequence[tuple[int, float | None]], budgeted: set[int], keep_share: float
) -> dict[int, str]:
    """Which ideas the screen keeps, and why: `judged` is (topic, score) per idea in order
    (None: no valid score). It keeps the best idea of each topic in `budgeted` and then the
    best of the rest until `keep_share` of the scored ideas (rounded up, at least one) are
    kept; ties go to the earlier idea. Returns the index of each kept idea with its reason."""
    scored = [k for k, (_, s) in enumerate(judged) if s is not None]
    if not scored:
        return {}
    target = max(1, math.ceil(keep_share * len(scored) - 1e-9))
    ranked = sorted(scored, key=lambda k: (-(judged[k][1] or 0.0), k))
    kept: dict[int, str] = {}
    for topic in sorted(budgeted):
        best = next((k for k in ranked if judged[k][0] == topic), None)
        if best is not None:
            kept[best] = "the best-scored idea of its topic"
    for k in ranked:
        if len(kept) >= target:
            break
        kept.setdefault(k, f"among the best {keep_share:.0%} of the ideas")
    return kept


async def screen_ideas(ctx: StageContext) -> list[ScreenedIdea]:
    """Topics -> positive cases -> allocation -> babble -> merge -> screen: the kept ideas,
    best first (what the proposals are made from). The cases' rubric scores are asked
    meanwhile: they are a record of the cases, and nothing of the screen waits for them."""
    topics, cases, alloc = await allocation(ctx)
    kept, _ = await fan_out2(_screen(ctx, topics, cases, alloc), score_cases(ctx, cases))
    return kept


async def _screen(
    ctx: StageContext, topics: list[StepResult[Topic]],
    cases: list[list[StepResult[PositiveCase]]], alloc: StepResult[AllocationRecord],
) -> list[ScreenedIdea]:
    p = ctx.agenda.pipeline
    shares: AllocationRecord | None = alloc.output
    samples = (
        [s.samples for s in shares.shares] if shares is not None
        else [p.idea_framings] * len(topics)
    )
    babbled = await fan_out([
        babble(ctx, i, samples[i], topics[i], cases[i], alloc) if samples[i] else _none()
        for i in range(len(topics))
    ])
    merged, merge_record = await merge(ctx, babbled)
    flat = [(i, idea) for i, t in enumerate(merged) for idea in t]
    library = idea_library(ctx)
    judged = await fan_out([_judge_idea(ctx, idea, i, library) for i, idea in flat])
    medians = [statistics.median(j.scores) if j.scores else None for j in judged]
    kept = screen_decisions(
        [(j.topic, m) for j, m in zip(judged, medians, strict=True)],
        {i for i, n in enumerate(samples) if n > 0}, p.screen_keep,
    )
    scored = [m for m in medians if m is not None]
    cutoff = min((medians[k] or 0.0 for k in kept), default=None)
    items = []
    for k, (j, m) in enumerate(zip(judged, medians, strict=True)):
        if m is None:
            reason = "no judge gave a valid score"
        elif k in kept:
            reason = f"median judge score {m:g} (n={len(j.scores)}): {kept[k]}"
        else:
            where = (
                f"below the kept ideas' lowest {cutoff:g}" if cutoff is not None and m < cutoff
                else f"tied with the kept ideas' lowest {cutoff:g}, ranked after them"
            )
            reason = (
                f"median judge score {m:g} (n={len(j.scores)}) {where}: the screen keeps "
                f"{len(kept)} of {len(scored)} ideas ({p.screen_keep:.0%}, and the best of "
                "each topic)"
            )
        items.append(ScreenItem(
            idea_id=j.idea.id, topic=ctx.agenda.topics[j.topic].name, scores=j.scores,
            score=m, spread=j.spread, escalated=j.escalated, human_review=j.human,
            kept=k in kept, reason=reason,
        ))

    def statuses(result: StepResult[IdeaScreen]) -> Findings | None:
        if result.output is None:
            return None
        return Findings(about=result.id, statuses=[
            StatusChange(
                artifact_id=item.idea_id,
                status=Status.SCREENED_IN if item.kept else Status.SCREENED_OUT,
                reason=item.reason,
            )
            for item in result.output.items
        ])

    record = ctx.record(
        key="propose/screen",
        kind=Kind.IDEA_SCREEN,
        stage=STAGE,
        content=IdeaScreen(keep_share=p.screen_keep, threshold=p.disagreement, items=items),
        render=lambda s: "\n".join(
            f"- idea {i.idea_id} ({i.topic}): {'kept' if i.kept else 'screened out'}; "
            f"{i.reason}" for i in s.items
        ),
        parents=[
            (merge_record.id, Relation.CONTEXT),
            *[j.idea.id for j in judged],
            *[(a, Relation.CONTEXT) for j in judged for a in j.judgments],
        ],
        findings=statuses,
    )
    assert record.output is not None
    by_id = {j.idea.id: j.idea for j in judged}
    chosen = [
        ScreenedIdea(idea=by_id[i.idea_id], score=i.score, screen_id=record.id)
        for i in record.output.items if i.kept and i.score is not None and i.idea_id in by_id
    ]
    return sorted(chosen, key=lambda c: -c.score)


async def _none() -> list[StepResult[Idea]]:
    return []


__all__ = [
    "CONTEXTS",
    "DIRECTIONS",
    "PERSONAS",
    "Cell",
    "IdeaMerge",
    "IdeaScreen",
    "ScreenItem",
    "ScreenedIdea",
    "babble",
    "embedder_for",
    "idea_library",
    "matrix",
    "merge",
    "screen_decisions",
    "screen_ideas",
]
