"""Stage 3, write up: research log → appendix → main text → introduction → abstract → paper,
then critic #2 reviews the paper against its research log and decides its status.

Each layer is written from the layer below it and links to what it summarises through provenance
edges with relation `summarises`; the paper artifact points at its four sections. Each paragraph
names the sources it rests on and each number is traced to its sandbox run (`_hierarchy`); the
upper layers are also written directly from the log, and the two versions' divergence is stored
(`_writing`, `_divergence`; see docs/pipeline.md).

Critic #2 then reviews the recorded paper (`_critic2.review_paper`): its programmatic checks,
several babbling instances, the investigation of the most important candidate flaws, a report
with the probability that the paper is severely flawed, and one of six decisions (accept, minor
or major revision, reassess the direction, escalate to a human, halt the direction). A divergence
at or above the agenda's threshold asks for more scrutiny (more instances, a lower escalation
bar). A revision is written again step by step (`write_stepwise` with the critique; step keys
under `/rev<n>`) as a new paper that `revises` the previous one, and is reviewed again.

Input (a store query): every valid research log of the execute stage's latest round, one per
selected project (its usable steps with the numbers exactly as the sandbox returned them, its
interpretations and decisions), each with the proposal it executed and its last valid
interpretation; each project's paper has its own step keys (`writeup/p1/...` for the second).
Under `on_failure = "continue"` a failed section skips every layer above it, the paper and its
review; without an interpretation the main text is written from the appendix alone.

Stage 4 of the seed (cross-paper examination, critic #3) needs a corpus of papers and does not
exist yet; no stage is registered for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import delimit
from ..runtime import (
    ClaimNote,
    Findings,
    NothingToDoError,
    StageContext,
    StepResult,
    fan_out,
    stage,
)
from ..vocabulary import Kind, Relation, Stage, Status
from ._critic2 import PAPER_STATUS, RevisionRequest, check_paper, review_paper
from ._decisions import Critic2Report
from ._divergence import DivergenceContent, scrutiny_for
from ._schemas import (
    Abstract,
    PaperContent,
    ProjectLog,
    Proposal,
    RoundInterpretation,
    Section,
)
from ._writing import Hierarchy, measure_divergence, write_direct, write_stepwise

STAGE = Stage.WRITEUP
SECTIONS = ("abstract", "introduction", "main_text", "appendix")
"""Top-down reading order of a paper."""


@dataclass(frozen=True, kw_only=True)
class Executed:
    """What the write-up is written from: a project's research log, its proposal and its last
    interpretation."""

    proposal: StepResult[Proposal]
    log: StepResult[ProjectLog]
    interpretation: StepResult[RoundInterpretation] | None
    prefix: str = ""
    """The project's part of the step keys (`p1/` for project 1, empty for project 0): the
    paper's keys get it too (`writeup/p1/appendix`)."""


def _round_of(key: str) -> str:
    """The stage re-run suffix of a step key (`@2`), or '' for the run's own steps."""
    return key[key.index("@"):] if "@" in key else ""


def executed_research(ctx: StageContext) -> list[Executed]:
    """Every valid research log of the execute stage's latest round (one per project), each
    with the proposal it executed and its last valid interpretation."""
    logs = ctx.store.artifacts(run_id=ctx.run.id, kind=Kind.RESEARCH_LOG)
    latest = _round_of(logs[-1].step_key or "") if logs else ""
    found = []
    for art in logs:
        key = art.step_key or ""
        if art.status != Status.OK or _round_of(key) != latest:
            continue
        log = ctx.typed(art, ProjectLog)
        assert log.output is not None
        interpretations = [
            ctx.typed(a, RoundInterpretation)
            for a in ctx.store.artifacts(ids=log.output.interpretations)
        ]
        usable = [i for i in interpretations if i.ok]
        found.append(Executed(
            proposal=ctx.typed(ctx.store.artifact(log.output.proposal), Proposal),
            log=log,
            interpretation=usable[-1] if usable else None,
            prefix=key.split("@")[0].removeprefix("execute/").removesuffix("research-log"),
        ))
    if not found:
        raise NothingToDoError(
            f"run {ctx.run.id} has no valid research log to write up: no step of the execute "
            "stage gave a usable result (see its failed and unusable steps)"
        )
    return found


@stage(STAGE, order=30, inputs=executed_research)
async def run(ctx: StageContext, executed: list[Executed]) -> list[StepResult[Critic2Report]]:
    """Write one paper per executed project, all at once, each with its own step keys."""
    c2 = ctx.agenda.critic2
    # Per paper: 4 sections and the paper (3 more and the divergence when written directly too),
    # critic #2's instances, investigations and report; revisions come on top.
    per_paper = 5 + (4 if ctx.agenda.writeup.direct else 0) + c2.instances + c2.investigate + 1
    ctx.progress.stage(STAGE, per_paper * len(executed))
    if len(executed) == 1:  # one paper: no task around it (an interrupt stays as it was)
        return [await _write_one(ctx, executed[0])]
    return await fan_out([_write_one(ctx, done) for done in executed])


async def _write_one(ctx: StageContext, done: Executed) -> StepResult[Critic2Report]:
    """Write the paper for one executed project, then have critic #2 review it (and the writer
    revise it, as critic #2 decides)."""
    # The step-by-step hierarchy is the paper; the direct one is evidence about it. It needs
    # nothing of the other, but is written after it: each step-by-step section cites the one
    # before by artifact id, so a direct section recorded in between (whichever answer came
    # first) would change the later sections' prompts, and a resumed or repeated run would ask
    # them anew instead of finding them cached.
    divergence: StepResult[DivergenceContent] | None = None
    if ctx.agenda.writeup.direct:
        written = await _write(ctx, done)
        direct = await write_direct(ctx, log=done.log, proposal=done.proposal,
                                    prefix=done.prefix, after=written.abstract)
        divergence = measure_divergence(ctx, written, direct, prefix=done.prefix)
    else:
        written = await _write(ctx, done)
    paper = _record_paper(ctx, done, written, divergence=divergence)

    async def rewrite(request: RevisionRequest) -> StepResult[PaperContent]:
        revised = await _write(ctx, done, revision=request)
        return _record_paper(ctx, done, revised, revision=request)

    score = divergence.output.score if divergence is not None and divergence.output else None
    reviewed = await review_paper(
        ctx, paper=paper, rewrite=rewrite, key=f"writeup/{done.prefix}".rstrip("/"),
        scrutiny=scrutiny_for(score, ctx.agenda.writeup),
    )
    return reviewed.report


def _revising(revision: RevisionRequest | None) -> str:
    """The critique a revision is written against, for every section's prompt."""
    if revision is None:
        return ""
    return (
        f"\nThis is revision {revision.round}: rewrite it to address critic #2's critique of "
        f"the previous version.\n{delimit('critique', revision.critique)}"
    )


async def _write(
    ctx: StageContext, done: Executed, *, revision: RevisionRequest | None = None
) -> Hierarchy:
    """Write the summary hierarchy step by step (a revision: keys under `/rev<n>` and the
    critique in every prompt)."""
    interpretation = done.interpretation if done.interpretation and done.interpretation.ok else None
    return await write_stepwise(
        ctx, log=done.log, proposal=done.proposal, interpretation=interpretation,
        prefix=done.prefix, suffix=f"/rev{revision.round}" if revision else "",
        critique=_revising(revision),
    )


def _record_paper(
    ctx: StageContext,
    done: Executed,
    written: Hierarchy,
    *,
    divergence: StepResult[DivergenceContent] | None = None,
    revision: RevisionRequest | None = None,
) -> StepResult[PaperContent]:
    """Record the paper of `written` (a revision `revises` the previous paper)."""
    appendix, main, intro, abstract = (
        written.appendix, written.main, written.intro, written.abstract
    )
    sections: dict[str, StepResult[Section] | StepResult[Abstract]] = dict(
        zip(SECTIONS, (abstract, intro, main, appendix), strict=True)
    )
    ready = all(s.ok for s in sections.values())
    # The paper names its divergence, whose score sets how closely critic #2 reads it: the
    # paper is recorded after it, and the graph says so (the run's critical path runs through
    # the direct version).
    diverged = divergence if divergence is not None and divergence.ok else None
    rev = f"/rev{revision.round}" if revision else ""
    return ctx.record(
        key=f"writeup/{done.prefix}paper{rev}",
        kind=Kind.PAPER,
        stage=STAGE,
        title=abstract.output.title if abstract.output else None,
        content=PaperContent(
            title=abstract.output.title if abstract.output else "",
            sections={name: s.id for name, s in sections.items()} if ready else {},
            research_log=done.log.id,
            proposal=done.proposal.id,
            divergence=diverged.id if diverged else None,
        ),
        render=lambda _p: "\n\n".join(s.text for s in sections.values()),
        status=Status.DRAFT,
        parents=[*[(s.id, Relation.CONTAINS) for s in sections.values()],
                 (done.log.id, Relation.CONTEXT),
                 *([(diverged.id, Relation.FOLLOWS)] if diverged else []),
                 *([revision.parent] if revision else [])] if ready else [],
        needs=list(sections.values()),
        findings=lambda _p: Findings(
            about=_p.id,
            claims=[
                ClaimNote(text=c.text, probability=c.probability_percent / 100)
                for c in (abstract.output.claims if abstract.output else [])
            ],
        ),
    )


__all__ = [
    "PAPER_STATUS", "SECTIONS", "STAGE", "Executed", "check_paper",
    "executed_research", "run",
]
