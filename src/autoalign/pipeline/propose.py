"""Stage 1, propose: topics → positive cases → allocation → ideas → screen → detailed proposals
→ a selection of projects. Topics and ideas are `_topics` and `_ideas`; proposals, their critique
and revision, the judges, the selection, bundles and information screens are `_select`; this
module joins the two at one seam (screened ideas in, the selection out)."""

from __future__ import annotations

from ..runtime import NothingToDoError, StageContext, StepResult, stage
from ..vocabulary import Stage
from ._ideas import screen_ideas
from ._schemas import Idea, Selection
from ._select import select_projects

STAGE = Stage.PROPOSE

Scored = tuple[StepResult[Idea], float, int]
"""A screened idea, its score, and the id of the record that ranked it (the screen)."""


def _no_inputs(ctx: StageContext) -> None:
    """Propose reads only the agenda."""
    del ctx


@stage(STAGE, order=10, inputs=_no_inputs)
async def run(ctx: StageContext, inputs: None = None) -> StepResult[Selection]:
    """Topics and ideas (`_ideas.screen_ideas`), then the screened ideas' proposals and the
    selection of projects (`_select.select_projects`)."""
    del inputs
    p = ctx.agenda.pipeline
    topics = len(ctx.agenda.topics)
    ideas = p.idea_framings * topics * p.ideas_per_topic
    # Proposals: draft, critique and revision per round, two judges; then the portfolio and
    # the selection.
    per_proposal = 1 + 2 * ctx.agenda.projects.revision_rounds + 2
    ctx.progress.stage(
        STAGE,
        topics * (2 * p.cases_per_topic + 1) + 2 * p.case_pairs + 3 + p.idea_framings * topics
        + ideas * (1 + p.screen_judges) + per_proposal * p.proposals + 2,
    )
    # The seam: screened ideas in, proposals and the selection out.
    screened = await screen_ideas(ctx)
    return await _propose_and_select(
        ctx, [(c.idea, c.score, c.screen_id) for c in screened]
    )


async def _propose_and_select(ctx: StageContext, scored: list[Scored]) -> StepResult[Selection]:
    """Turn the best screened ideas into detailed proposals and select projects among them."""
    if not scored:
        raise NothingToDoError("no research idea survived: every idea or its scoring failed")
    # Stable: ties keep agenda order, so a resumed run picks the same ideas.
    best = sorted(scored, key=lambda item: -item[1])[: ctx.agenda.pipeline.proposals]
    # Which ideas become proposals depends on every score: a proposal derives from its idea
    # and has the screen that ranked it as context.
    ranking = list(dict.fromkeys(j for _, _, j in scored))
    selection = await select_projects(ctx, [idea for idea, _, _ in best], ranking)
    if selection is None:
        raise NothingToDoError("no proposal survived: every proposal or its judging failed")
    return selection


__all__ = ["STAGE", "run"]
