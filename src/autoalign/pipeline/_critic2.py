"""Critic #2 in the write-up: babble and prune, the report, the six decisions and the revision
loop. `review_paper` is the entry point the write-up calls once its paper is recorded.

One review of one version of a paper (round r, keys under `<key>/critic-2/<r>`):
1. the programmatic checks (`check_paper`) record their flaws as they always have;
2. `instances` critic-2 instances (`c2.babble`, plus the scrutiny's `extra_critics`), each
   with its own context, focus and (when configured) model, babble candidate flaws
   (`flaw_candidates`);
3. near-duplicate candidates are merged (TF-IDF `near_duplicates`) and ranked by severity x
   confidence; the top `investigate` are checked by `c2.investigate` against the log, its
   numbers and past confirmed flaws (`flaw_investigation`): a confirmed one is stored as a flaw
   by that step, a refuted one is not (the report keeps it with its refutation);
4. the report (`paper_critique`, a `Critic2Report`) computes the severe-flaw probability and
   decides by the rules of `_decisions.decide`; its judgment row, status events, review request
   and (reassess, halt) `direction_decision` artifact are written with it.
A minor or major revision asks `rewrite` for a new paper that `revises` this one, and reviews it
as round r + 1, up to `revision_rounds` revisions.

The report is built by one pure function (`critic2_report`) from the replies; `review_draft`
runs the same review on a plain draft outside any run, through a model client, writing nothing
to the store (the red team's `c2.pipeline`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from ..agenda import Critic2Section
from ..critics import (
    CONTEXTS,
    FOCI,
    PAPER_SECTIONS,
    CandidateCase,
    CandidateFlaw,
    CriticContext,
    CriticScale,
    Finding,
    FlawCandidates,
    FlawCategory,
    FlawCheck,
    FlawInvestigator,
    FlawLibrary,
    InstanceBrief,
    LLMCritic,
    PaperBabble,
    PaperClaim,
    PaperDraft,
    PaperSection,
    ProgrammaticCritic,
    Severity,
    get_critic,
    list_critics,
    locate,
    record_findings,
)
from ..embeddings import near_duplicates
from ..errors import DataError
from ..models import ModelClient
from ..runtime import Findings, StageContext, StatusChange, StepResult, Verdict, fan_out
from ..store import Parent, Store
from ..vocabulary import Kind, PaperDecision, Relation, Role, Stage, Status, UpdateKind
from ._confused import confused_reviews
from ._decisions import (
    Critic2Report,
    InstanceEstimate,
    Recalibration,
    ReportedFlaw,
    band,
    decide,
    severe_probability,
)
from ._divergence import NO_SCRUTINY, Scrutiny
from ._evidence import research_evidence
from ._ideas import embedder_for
from ._library import LibraryReader
from ._schemas import PaperContent, ProjectLog

STAGE = Stage.WRITEUP
S = TypeVar("S")
R = TypeVar("R", bound=BaseModel)

PAPER_STATUS: dict[PaperDecision, Status] = {
    PaperDecision.ACCEPT: Status.ACCEPTED,
    PaperDecision.MINOR_REVISION: Status.REVISION_REQUESTED,
    PaperDecision.MAJOR_REVISION: Status.REVISION_REQUESTED,
    PaperDecision.REASSESS: Status.REJECTED,
    PaperDecision.ESCALATE: Status.ESCALATED,
    PaperDecision.HALT: Status.REJECTED,
}
"""The paper's status after each decision (a revised paper later becomes `revised`)."""

_PAST_FLAWS = 3
"""Earlier confirmed flaws of the same category shown to an investigator."""


@dataclass(frozen=True, kw_only=True)
class RevisionRequest:
    """What the writer gets for a revision: the critique, the round and the paper it revises."""

    critique: str
    """Critic #2's report as text (untrusted: delimit it in the prompt)."""
    round: int
    """1 for the first revision."""
    previous: int
    """The paper being revised."""

    @property
    def parent(self) -> Parent:
        """The edge the new paper must carry: `revises` the previous one."""
        return (self.previous, Relation.REVISES)


Rewrite = Callable[[RevisionRequest], Awaitable[StepResult[PaperContent]]]
"""Writes a revised paper (recorded, with `request.parent` among its parents)."""


class DirectionDecision(BaseModel):
    """Critic #2's call to reassess or halt the project's direction."""

    action: Literal["reassess", "halt"]
    proposal_id: int
    paper_id: int
    report_id: int
    reason: str
    """The rule that decided."""
    flaws: list[str]
    """The confirmed flaws behind it, one line each."""


@dataclass(frozen=True, kw_only=True)
class Reviewed:
    """What critic #2 left: the last paper version, its report and the decision."""

    paper: StepResult[PaperContent]
    report: StepResult[Critic2Report]
    decision: PaperDecision | None
    """None when the paper could not be reviewed (a section failed)."""
    rounds: int
    """Revisions written."""


def paper_draft(store: Store, paper: StepResult[PaperContent]) -> PaperDraft | None:
    """What critic #2 checks, read from the stored paper, its sections and its research log
    (None: no valid paper)."""
    content = paper.output
    if content is None or set(content.sections) != set(PAPER_SECTIONS):
        return None
    log_artifact = store.artifact(content.research_log)
    log = ProjectLog.model_validate(log_artifact.content_json)
    numbers, evidence = research_evidence(store, log)
    abstract = store.artifact(content.sections["abstract"]).content_json
    claims = abstract.get("claims", []) if isinstance(abstract, dict) else []
    return PaperDraft(
        paper_id=paper.id,
        title=content.title,
        sections=tuple(
            PaperSection(name=name, artifact_id=content.sections[name],
                         text=store.artifact(content.sections[name]).content_text)
            for name in PAPER_SECTIONS
        ),
        research_log_id=log_artifact.id,
        research_log=log_artifact.content_text,
        claims=tuple(
            PaperClaim(text=c["text"], probability=c["probability_percent"] / 100)
            for c in claims
        ),
        numbers=numbers,
        evidence=evidence,
    )


def stored_paper_draft(store: Store, paper_id: int) -> PaperDraft | None:
    """What critic #2 checks of the stored paper `paper_id` (None: not a valid paper), for
    readers outside a stage (the red team samples accepted papers as clean subjects)."""
    art = store.artifact(paper_id)
    if art.kind != Kind.PAPER:
        return None
    try:
        content = PaperContent.model_validate(art.content_json)
    except ValueError:
        return None
    return paper_draft(store, StepResult(key=art.step_key or "", artifact=art, output=content))


def _rules(draft: PaperDraft) -> list[tuple[ProgrammaticCritic[Any], list[Finding]]]:
    """Critic #2's programmatic checks on `draft`, each with its findings (nothing written)."""
    return [
        (critic, critic.rule(draft))
        for critic in list_critics(kind="programmatic", scale=CriticScale.PAPER)
        if isinstance(critic, ProgrammaticCritic)
    ]


def check_rules(draft: PaperDraft) -> list[tuple[str, Finding]]:
    """Critic #2's programmatic findings on `draft`, each with its critic's `id@version`,
    without recording anything (for a review outside a run)."""
    return [(f"{c.id}@{c.version}", f) for c, found in _rules(draft) for f in found]


def _checks(store: Store, draft: PaperDraft) -> list[tuple[str, Finding]]:
    """Run critic #2's programmatic checks on `draft`, record their flaws (once per critic and
    artifact) and escalate a critical one; each finding with its critic's `id@version`."""
    found: list[tuple[str, Finding]] = []
    for critic, findings in _rules(draft):
        record_findings(store, critic=critic, findings=findings)
        critical = [f for f in findings if f.severity == Severity.CRITICAL]
        if critical:
            store.add_review_request(
                artifact_id=draft.paper_id,
                reason=f"{critic.id} reports {len(critical)} critical flaw(s)",
            )
        found.extend((f"{critic.id}@{critic.version}", f) for f in findings)
    return found


def check_paper(store: Store, draft: PaperDraft) -> list[Finding]:
    """Run critic #2's programmatic checks on `draft`, record their flaws (once per critic and
    artifact, so a resumed run writes nothing new) and escalate a critical one to a human
    review of the paper, as before babble and prune; returns the findings."""
    return [f for _, f in _checks(store, draft)]


def _babbler() -> PaperBabble:
    critic = get_critic(PaperBabble.id, scale=CriticScale.PAPER)
    if not isinstance(critic, PaperBabble):
        raise DataError(f"critic {PaperBabble.id} is a {type(critic).__name__}, not a PaperBabble")
    return critic


def _investigator() -> FlawInvestigator:
    critic = get_critic(FlawInvestigator.id, scale=CriticScale.PAPER)
    if not isinstance(critic, FlawInvestigator):
        raise DataError(
            f"critic {FlawInvestigator.id} is a {type(critic).__name__}, not a FlawInvestigator"
        )
    return critic


def merge_candidates(
    raised: list[tuple[int, CandidateFlaw]], *, threshold: float
) -> list[tuple[CandidateFlaw, list[int]]]:
    """Merge near-duplicate candidates (same section, similar text by TF-IDF cosine at
    `threshold`): each group as its strongest member (severity x confidence) and the ids of
    the instance artifacts that raised it, strongest group first."""
    texts = [f"{c.category} {c.section} {c.description} {c.quote}" for _, c in raised]
    groups = [
        [raised[i] for i in group]
        for group in near_duplicates(texts, threshold=threshold)
    ] if raised else []
    merged = [
        (max((c for _, c in g), key=lambda c: c.weight), [i for i, _ in g]) for g in groups
    ]
    merged.sort(key=lambda m: (-m[0].weight, -len(set(m[1]))))
    return merged


MAX_INSTANCES = 8
"""Most critic-2 instances one review asks, scrutiny included."""


def instance_count(instances: int, extra: int) -> int:
    """Instances one review asks: the agenda's plus `extra` (scrutiny's), at most 8."""
    return min(MAX_INSTANCES, instances + extra)


def _brief(draft: PaperDraft, instance: int) -> InstanceBrief:
    foci = list(FOCI)
    sections, with_log = CONTEXTS[instance % len(CONTEXTS)]
    return InstanceBrief(
        draft=draft, instance=instance, focus=foci[instance % len(foci)], sections=sections,
        with_log=with_log,
    )


def _past_flaws(
    store: Store, category: str, own: frozenset[int], k: int = _PAST_FLAWS
) -> tuple[str, ...]:
    """Earlier confirmed flaws of `category` (the investigator's) on artifacts other than
    `own` (the paper and its sections): a flaw this review has just confirmed is not a past
    flaw, and leaving it out keeps the prompt independent of how far the review had got (a
    resumed review asks what the first attempt asked)."""
    rows = [
        f for f in store.flaws(critic=FlawInvestigator.id)
        if f.category == category and f.artifact_id not in own
    ]
    return tuple(r.description.split("\n", 1)[0][:200] for r in rows[-k:])


# -- the flaw library (issue 14, part LB) ------------------------------------------------------


def _own_artifacts(draft: PaperDraft) -> frozenset[int]:
    """The paper and its sections: flaws found on them are not *past* flaws of this paper."""
    return frozenset({draft.paper_id, *(s.artifact_id for s in draft.sections)})


def _instance_query(brief: InstanceBrief) -> str:
    """What an instance's past flaws should resemble: the sections it is shown."""
    return "\n".join(s.text for n in brief.sections if (s := brief.draft.section(n)) is not None)


async def _with_library(
    ctx: StageContext, briefs: list[InstanceBrief], *, base: str, draft: PaperDraft
) -> tuple[list[InstanceBrief], LibraryReader | None]:
    """With `[critic2] past_flaws = "similar"`: each instance's brief with its retrieved past
    flaws, and the investigator's reader of the library; otherwise the briefs unchanged."""
    settings = ctx.agenda.critic2
    if settings.past_flaws != "similar":
        return briefs, None
    embedder = embedder_for(ctx)
    babbler = LibraryReader(ctx=ctx, reader=PaperBabble.id, base_version=PaperBabble.version,
                            embedder=embedder)
    shown = [
        b.model_copy(update={"past_flaws": await babbler.past_flaws(
            key=f"{base}/instance/{b.instance}", query=_instance_query(b),
            k=settings.past_flaws_k, exclude_artifacts=_own_artifacts(draft),
        )})
        for b in briefs
    ]
    investigator = LibraryReader(ctx=ctx, reader=FlawInvestigator.id,
                                 base_version=FlawInvestigator.version, embedder=embedder)
    return shown, investigator


def _similar(
    library: FlawLibrary, query: str, settings: Critic2Section, draft: PaperDraft
) -> tuple[str, ...]:
    """The lines of the library's entries most similar to `query`, the paper's own left out."""
    hits = library.retrieve(query, settings.past_flaws_k, exclude_artifacts=_own_artifacts(draft))
    return tuple(h.entry.text for h in hits)


async def _case_flaws(
    ctx: StageContext, reader: LibraryReader | None, *, key: str, candidate: CandidateFlaw,
    draft: PaperDraft,
) -> tuple[str, ...]:
    """The past flaws investigation `key` shows, by `[critic2] past_flaws`."""
    settings = ctx.agenda.critic2
    if settings.past_flaws == "none":
        return ()
    if reader is None:  # "recent"
        return _past_flaws(ctx.store, candidate.category, _own_artifacts(draft),
                           settings.past_flaws_k)
    return await reader.past_flaws(
        key=key, query=f"{candidate.category} {candidate.description} {candidate.quote}",
        k=settings.past_flaws_k, exclude_artifacts=_own_artifacts(draft),
    )


async def review_once(
    ctx: StageContext,
    *,
    paper: StepResult[PaperContent],
    draft: PaperDraft,
    key: str,
    round_: int,
    scrutiny: Scrutiny,
    rounds_left: int,
    stage: Stage = STAGE,
    apply: bool = True,
) -> StepResult[Critic2Report]:
    """One review of one paper version: checks, babble, merge, investigate, report (keys
    under `<key>/critic-2/<round_>`).

    With `apply`, the decision acts: the paper's status changes and an escalation opens a
    review request. Without it (a re-review), the report and its judgment row are written and
    the caller decides what a changed decision means.
    """
    settings = ctx.agenda.critic2
    base = f"{key}/critic-2/{round_}"
    programmatic = _checks(ctx.store, draft)
    babbler, investigator = _babbler(), _investigator()
    n = instance_count(settings.instances, scrutiny.extra_critics)
    briefs, library = await _with_library(ctx, [_brief(draft, i) for i in range(n)],
                                          base=base, draft=draft)
    models = settings.models

    async def babble(brief: InstanceBrief) -> StepResult[FlawCandidates]:
        shown = [draft.section(s) for s in brief.sections]
        return await ctx.critique(
            key=f"{base}/instance/{brief.instance}",
            kind=Kind.FLAW_CANDIDATES,
            stage=stage,
            critic=babbler,
            subject=brief,
            parents=[(paper.id, Relation.DERIVED_FROM),
                     *[(s.artifact_id, Relation.CONTEXT) for s in shown if s is not None],
                     *([(draft.research_log_id, Relation.CONTEXT)]
                       if brief.with_log and draft.research_log_id is not None else [])],
            findings=lambda _r, _found: None,  # candidates become flaws once confirmed
            model=models[brief.instance % len(models)] if models else None,
        )

    babbled = await fan_out([babble(b) for b in briefs])
    raised = [
        (b.id, c) for b in babbled if b.output is not None for c in b.output.flaws
    ]
    merged = merge_candidates(raised, threshold=settings.duplicate_threshold)
    chosen = merged[: settings.investigate]

    async def investigate(
        j: int, candidate: CandidateFlaw, by: list[int], *, record: bool
    ) -> StepResult[FlawCheck]:
        case = CandidateCase(
            draft=draft, candidate=candidate, raised_by=len(set(by)),
            past_flaws=await _case_flaws(ctx, library, key=f"{base}/investigate/{j}",
                                         candidate=candidate, draft=draft),
        )
        return await ctx.critique(
            key=f"{base}/investigate/{j}",
            kind=Kind.FLAW_INVESTIGATION,
            stage=stage,
            critic=investigator,
            subject=case,
            parents=[(paper.id, Relation.DERIVED_FROM),
                     *[(i, Relation.DERIVED_FROM) for i in sorted(set(by))],
                     *([(draft.research_log_id, Relation.CONTEXT)]
                       if draft.research_log_id is not None else [])],
            findings=lambda _r, found: Findings(about=paper.id, flaws=found) if record else None,
        )

    # Asked concurrently; their flaws are then written one step at a time (each step resumed
    # from the store, no new ask), so a write never fails inside a sibling task.
    if chosen:
        await fan_out([investigate(j, c, by, record=False) for j, (c, by) in enumerate(chosen)])
    checked = [await investigate(j, c, by, record=True) for j, (c, by) in enumerate(chosen)]
    tuned = ctx.fine_tuned(investigator.id)
    report = critic2_report(
        draft, paper_id=paper.id, round_=round_, briefs=briefs,
        replies=[b.output for b in babbled],
        models=[b.artifact.model or "" if b.artifact is not None else "" for b in babbled],
        merged=merged, checks=[c.output for c in checked], programmatic=programmatic,
        settings=settings, scrutiny=scrutiny, rounds_left=rounds_left,
        investigator_version=tuned.version if tuned is not None else None,
        # A map fitted on the registered model's probabilities says nothing about a
        # fine-tuned model's: no recalibration while one plays the investigator.
        recalibration=active_recalibration(ctx.store) if tuned is None else None,
    )
    return ctx.record(
        key=base,
        kind=Kind.PAPER_CRITIQUE,
        stage=stage,
        content=report,
        render=render_report,
        parents=[(paper.id, Relation.DERIVED_FROM),
                 *[(b.id, Relation.CONTEXT) for b in babbled if b.artifact is not None],
                 *[(c.id, Relation.CONTEXT) for c in checked if c.artifact is not None]],
        title=f"critic-2 round {round_}: {report.decision}",
        findings=lambda r: _decision_records(
            r, paper, apply=apply,
            also=confused_reviews(ctx, r) if apply else (),  # issue 14, part CK
        ),
    )


def active_recalibration(store: Store) -> Recalibration | None:
    """The applied recalibration of critic #2's stated probability now in use (the newest
    applied `recalibration` version of `c2.investigate`, under which its probability is
    labelled), or None while there is none."""
    investigator = _investigator()
    found = store.active_update(investigator.id, UpdateKind.RECALIBRATION)
    return (Recalibration(version=found.label, params=found.params)
            if found is not None else None)


def critic2_report(
    draft: PaperDraft,
    *,
    paper_id: int,
    round_: int,
    briefs: Sequence[InstanceBrief],
    replies: Sequence[FlawCandidates | None],
    models: Sequence[str],
    merged: list[tuple[CandidateFlaw, list[int]]],
    checks: Sequence[FlawCheck | None],
    programmatic: list[tuple[str, Finding]],
    settings: Critic2Section,
    scrutiny: Scrutiny,
    rounds_left: int,
    investigator_version: str | None = None,
    recalibration: Recalibration | None = None,
) -> Critic2Report:
    """Critic #2's report from what its steps replied (pure: no I/O): every merged candidate
    with what became of it and the programmatic findings, the instances' estimates, the
    severe-flaw probability (raw and, with `recalibration`, calibrated) and the decision (read
    from the calibrated probability when there is one).

    Args:
        draft: the paper reviewed.
        paper_id: the paper the report is about.
        round_: the review round.
        briefs: the instances' briefs, one per reply.
        replies: each instance's babble (None: no valid reply).
        models: the model each instance was asked ('' when unknown).
        merged: the merged candidates (`merge_candidates`), strongest first.
        checks: the investigations of the first `len(checks)` merged candidates (None: no
            valid verdict).
        programmatic: the programmatic findings, each with its critic's `id@version`.
        settings: the `[critic2]` settings (band, disagreement).
        scrutiny: extra instances and a lower escalation band.
        rounds_left: revisions still allowed.
        investigator_version: the investigator's version when it is not its registered one
            (a fine-tuned model registered for it); confirmed flaws name it.
        recalibration: the applied recalibration of critic #2's probability, if any
            (`active_recalibration`); the report names its version.

    Raises:
        DataError: `briefs`, `replies` and `models` differ in length.
    """
    if not len(briefs) == len(replies) == len(models):
        raise DataError(
            f"critic-2 report: {len(briefs)} briefs, {len(replies)} replies and {len(models)} "
            "models; each instance needs one of each"
        )
    investigator = _investigator()
    flaws = _reported(draft, merged, list(checks), programmatic, investigator,
                      investigator_version)
    instances = [
        InstanceEstimate(
            instance=b.instance, focus=b.focus, sections=list(b.sections), with_log=b.with_log,
            model=m, severe_flaw=r.severe_flaw_percent / 100 if r else None,
            recommendation=r.recommendation if r else None,
        )
        for b, r, m in zip(briefs, replies, models, strict=True)
    ]
    p = severe_probability(flaws, instances)
    estimates = [i.severe_flaw for i in instances if i.severe_flaw is not None]
    calibrated = recalibration.apply(p.value) if recalibration is not None else None
    decided = decide(
        flaws=flaws, instances=instances,
        probability=calibrated if calibrated is not None else p.value, settings=settings,
        scrutiny=scrutiny, rounds_left=rounds_left,
    )
    return Critic2Report(
        paper_id=paper_id, round=round_, flaws=flaws, instances=instances,
        severe_flaw_probability=p.value, p_confirmed=p.confirmed, p_stated=p.stated,
        coverage=p.coverage, spread=max(estimates) - min(estimates) if estimates else 0.0,
        band=band(settings, scrutiny), extra_critics=scrutiny.extra_critics,
        escalation_drop=scrutiny.escalation_drop, decision=decided.decision,
        rule=decided.rule if recalibration is None or calibrated is None
        else f"{decided.rule}; the raw probability {p.value:.2f} is {calibrated:.2f} as "
        f"calibrated by {recalibration.version}",
        calibrated_probability=calibrated,
        probability_version=recalibration.version if recalibration is not None
        else f"{investigator.id}@{investigator_version or investigator.version}",
    )


async def _asked(
    critic: LLMCritic[S, R], subject: S, *, models: ModelClient, model: str | None,
    step_key: str,
) -> R | None:
    """One critic's reply through `models`; None when the model gave no valid one (as a
    pipeline step records a failed reply)."""
    try:
        return await critic.ask(subject, context=CriticContext(models=models), model=model,
                                step_key=step_key)
    except DataError:
        return None


async def review_draft(
    draft: PaperDraft,
    *,
    models: ModelClient,
    settings: Critic2Section,
    scrutiny: Scrutiny = NO_SCRUTINY,
    rounds_left: int = 0,
    past_flaws: Mapping[str, Sequence[str]] | None = None,
    key: str | None = None,
    library: FlawLibrary | None = None,
    recalibration: Recalibration | None = None,
) -> Critic2Report:
    """Critic #2 as `review_once` runs it (checks, babble, merge, investigate, report), on a
    plain draft outside any run: the critics are asked through `models` (ledgered and cached
    by the model layer) and nothing is written to the research tables.

    Args:
        draft: the paper to review.
        models: the model client (its `critic-2` role, or `settings.models` in turn).
        settings: the `[critic2]` settings.
        scrutiny: extra instances and a lower escalation band.
        rounds_left: revisions still allowed (0: a revision decision becomes escalate or
            accept, as in a last round).
        past_flaws: earlier confirmed flaws shown to the investigator, by category (with
            `settings.past_flaws = "recent"`, or `"similar"` without a `library`).
        key: the step-key prefix the calls are booked under (default
            `paper/<id>/critic/critic-2`).
        library: the flaw library; with `settings.past_flaws = "similar"` the instances and
            the investigator are shown its entries most similar to their part of the paper
            and to the candidate, as in a run (not recorded: there is no run to key it by).
            `settings.past_flaws = "none"` shows nothing.
        recalibration: a recalibration of the stated probability to decide by (none by
            default: the red team scores the raw critic, and its trials become labels that a
            map is fitted on).
    """
    base = key or f"paper/{draft.paper_id}/critic/critic-2"
    programmatic = check_rules(draft)
    babbler, investigator = _babbler(), _investigator()
    n = instance_count(settings.instances, scrutiny.extra_critics)
    briefs = [_brief(draft, i) for i in range(n)]
    similar = library if settings.past_flaws == "similar" else None
    if similar is not None:  # the flaw library (issue 14, part LB)
        briefs = await asyncio.to_thread(lambda: [
            b.model_copy(update={"past_flaws": _similar(similar, _instance_query(b), settings,
                                                        draft)})
            for b in briefs
        ])
    chosen_models = [
        settings.models[b.instance % len(settings.models)] if settings.models else None
        for b in briefs
    ]
    replies: list[FlawCandidates | None] = await fan_out([
        _asked(babbler, b, models=models, model=m, step_key=f"{base}/instance/{b.instance}")
        for b, m in zip(briefs, chosen_models, strict=True)
    ])
    raised = [(i, c) for i, r in enumerate(replies) if r is not None for c in r.flaws]
    merged = merge_candidates(raised, threshold=settings.duplicate_threshold)
    chosen = merged[: settings.investigate]
    known = past_flaws or {}

    def shown(c: CandidateFlaw) -> tuple[str, ...]:
        if settings.past_flaws == "none":
            return ()
        if similar is not None:
            return _similar(similar, f"{c.category} {c.description} {c.quote}", settings, draft)
        return tuple(known.get(c.category, ()))[-settings.past_flaws_k:]

    def make_cases() -> list[CandidateCase]:
        return [
            CandidateCase(draft=draft, candidate=c, raised_by=len(set(by)), past_flaws=shown(c))
            for c, by in chosen
        ]

    # a retrieval from a large library runs in a worker thread; the other cases need none
    cases = await asyncio.to_thread(make_cases) if similar is not None else make_cases()
    checks: list[FlawCheck | None] = await fan_out([
        _asked(investigator, case, models=models, model=None, step_key=f"{base}/investigate/{j}")
        for j, case in enumerate(cases)
    ]) if cases else []
    role = models.model_for(Role.CRITIC_2.value)
    return critic2_report(
        draft, paper_id=draft.paper_id, round_=0, briefs=briefs, replies=replies,
        models=[m or role for m in chosen_models], merged=merged, checks=checks,
        programmatic=programmatic, settings=settings, scrutiny=scrutiny,
        rounds_left=rounds_left, recalibration=recalibration,
    )


def _reported(
    draft: PaperDraft,
    merged: list[tuple[CandidateFlaw, list[int]]],
    checked: list[FlawCheck | None],
    programmatic: list[tuple[str, Finding]],
    investigator: FlawInvestigator,
    investigator_version: str | None = None,
) -> list[ReportedFlaw]:
    """Every merged candidate with what became of it, then the programmatic findings."""
    flaws: list[ReportedFlaw] = []
    for j, (c, by) in enumerate(merged):
        where = locate(draft, c.section, c.quote)
        check = checked[j] if j < len(checked) else None
        if j < len(checked) and check is None:
            status: Literal["confirmed", "refuted", "not_investigated"] = "not_investigated"
            evidence = "the investigation gave no valid verdict"
        elif check is None:
            status, evidence = "not_investigated", "not among the most important candidates"
        else:
            status, evidence = check.verdict, check.evidence
        flaws.append(ReportedFlaw(
            category=FlawCategory(c.category),
            severity=Severity(check.severity if check else c.severity),
            confidence=(check.confidence_percent if check else c.confidence_percent) / 100,
            status=status,
            critic=f"{investigator.id}@{investigator_version or investigator.version}" if check
            else f"{PaperBabble.id}@{PaperBabble.version}",
            location=where, description=c.description, evidence=evidence,
            raised_by=len(set(by)),
        ))
    flaws.extend(
        ReportedFlaw(
            category=f.category, severity=f.severity, confidence=f.confidence,
            status="programmatic", critic=critic, location=f.location,
            description=f.description, evidence=f.evidence,
        )
        for critic, f in programmatic
    )
    return flaws


def _decision_records(
    r: StepResult[Critic2Report], paper: StepResult[PaperContent], *, apply: bool = True,
    also: Sequence[str] = (),
) -> Findings:
    """The report's judgment row and, with `apply`, the paper's status and (escalate) the
    review request; `also`: more review reasons (a confused critic's, `_confused`)."""
    report = r.output
    if report is None:  # a record always has its content
        raise DataError(f"critic-2 report {r.key} has no content")
    decision = report.decision
    return Findings(
        about=paper.id,
        verdict=Verdict(role=Role.CRITIC_2, score=report.decided_probability,
                        decision=decision.value, rationale=report.rule,
                        # decided by rule from its instances' replies: their models
                        model=", ".join(sorted({i.model for i in report.instances}))[:200] or None),
        statuses=[StatusChange(artifact_id=paper.id, status=PAPER_STATUS[decision],
                               reason=f"critic-2 decision: {decision} ({report.rule})")]
        if apply else [],
        reviews=([f"critic-2 escalates: {report.rule}"]
                 if apply and decision == PaperDecision.ESCALATE else []) + list(also),
    )


def render_report(report: Critic2Report) -> str:
    """The report as text: the decision and its rule, the probability with its n and range,
    and one line per flaw."""
    estimates = [i.severe_flaw for i in report.instances if i.severe_flaw is not None]
    spread = f"{min(estimates):.2f}-{max(estimates):.2f}" if estimates else "none"
    calibrated = (f"; calibrated {report.calibrated_probability:.2f}"
                  if report.calibrated_probability is not None else "")
    version = f"; by {report.probability_version}" if report.probability_version else ""
    lines = [
        f"Decision: {report.decision} ({report.rule})",
        f"Severe-flaw probability: {report.severe_flaw_probability:.2f} (n={len(estimates)} "
        f"instance estimates, range {spread}; confirmed {report.p_confirmed:.2f}, "
        f"coverage {report.coverage:.2f}){calibrated}{version}",
    ]
    lines += [
        f"- [{f.status}] [{f.severity}, {f.confidence:.2f}] {f.category} at "
        f"{f.location.text()}: {f.description}" + (f" Evidence: {f.evidence}" if f.evidence
                                                   else "")
        for f in report.flaws
    ]
    return "\n".join(lines)


def _direction(
    ctx: StageContext,
    *,
    key: str,
    report: StepResult[Critic2Report],
    paper: StepResult[PaperContent],
) -> None:
    """Record a reassess or halt: the `direction_decision` artifact and the proposal's status."""
    out, content = report.output, paper.output
    if out is None or content is None or out.decision not in (
        PaperDecision.REASSESS, PaperDecision.HALT
    ):
        return
    action: Literal["reassess", "halt"] = (
        "halt" if out.decision == PaperDecision.HALT else "reassess"
    )
    status = Status.HALTED if action == "halt" else Status.REASSESS
    ctx.record(
        key=f"{key}/critic-2/direction",
        kind=Kind.DIRECTION_DECISION,
        stage=STAGE,
        content=DirectionDecision(
            action=action, proposal_id=content.proposal, paper_id=paper.id,
            report_id=report.id, reason=out.rule,
            flaws=[f"{f.category} ({f.severity}): {f.description}"
                   for f in out.flaws if f.counts],
        ),
        render=lambda d: f"{d.action}: {d.reason}\n" + "\n".join(f"- {x}" for x in d.flaws),
        parents=[(report.id, Relation.DERIVED_FROM), (content.proposal, Relation.CONTEXT)],
        title=f"critic-2: {action} the direction",
        findings=lambda d: Findings(about=content.proposal, statuses=[StatusChange(
            artifact_id=content.proposal, status=status,
            reason=f"critic-2 decided to {action} the direction (paper {paper.id}): {out.rule}",
        )]),
    )


def reassessment(ctx: StageContext, proposal_id: int) -> StepResult[DirectionDecision] | None:
    """The run's latest call to reassess `proposal_id`'s direction, if critic #2 made one (the
    execute stage scopes such a project again with it)."""
    found = [
        d for a in ctx.store.artifacts(run_id=ctx.run.id, kind=Kind.DIRECTION_DECISION)
        if (d := ctx.typed(a, DirectionDecision)).output is not None
        and d.output.action == "reassess" and d.output.proposal_id == proposal_id
    ]
    return found[-1] if found else None


async def review_paper(
    ctx: StageContext,
    *,
    paper: StepResult[PaperContent],
    rewrite: Rewrite,
    key: str = "writeup",
    scrutiny: Scrutiny = NO_SCRUTINY,
) -> Reviewed:
    """Critic #2 on a recorded paper: review, decide, and loop through revisions.

    Args:
        ctx: the stage's context (the agenda's `[critic2]` settings).
        paper: the recorded paper (a failed paper is not reviewed).
        rewrite: writes a revision from a `RevisionRequest` (the write-up supplies it).
        key: the step-key prefix (a project's, when a stage writes several papers).
        scrutiny: more instances and a lower escalation band (`_decisions.band`), from the
            divergence between the write-up's two strategies (`scrutiny_for`).

    Raises:
        DataError: a revision does not carry the `revises` edge to the paper it revises.
    """
    if scrutiny.extra_critics < 0 or scrutiny.escalation_drop < 0:
        raise DataError(f"critic-2 scrutiny must not be negative, got {scrutiny}")
    rounds = ctx.agenda.critic2.revision_rounds
    current = paper
    r = 0
    while True:
        draft = paper_draft(ctx.store, current) if current.artifact is not None else None
        if draft is None:
            skipped: StepResult[Critic2Report] = StepResult(
                key=ctx.key(f"{key}/critic-2/{r}"), artifact=None, output=None
            )
            return Reviewed(paper=current, report=skipped, decision=None, rounds=r)
        report = await review_once(
            ctx, paper=current, draft=draft, key=key, round_=r, scrutiny=scrutiny,
            rounds_left=rounds - r,
        )
        assert report.output is not None
        decision = report.output.decision
        _direction(ctx, key=key, report=report, paper=current)
        if decision not in (PaperDecision.MINOR_REVISION, PaperDecision.MAJOR_REVISION):
            return Reviewed(paper=current, report=report, decision=decision, rounds=r)
        request = RevisionRequest(critique=report.text, round=r + 1, previous=current.id)
        revised = await rewrite(request)
        if revised.artifact is not None and not any(
            e.parent_id == current.id and e.relation == Relation.REVISES
            for e in ctx.store.parents(revised.id)
        ):
            raise DataError(
                f"revision {revised.key} (artifact {revised.id}) does not link `revises` to "
                f"paper {current.id}; pass request.parent among its parents"
            )
        if not revised.ok:
            ctx.store.add_review_request(
                artifact_id=current.id,
                reason=f"critic-2 asked for a {decision}, but revision {r + 1} gave no valid paper",
            )
            return Reviewed(paper=current, report=report, decision=decision, rounds=r)
        if ctx.store.status(current.id) != Status.REVISED:
            ctx.store.set_status(
                current.id, Status.REVISED,
                reason=f"revised as paper {revised.id} after critic-2's {decision}",
            )
        current, r = revised, r + 1


__all__ = [
    "PAPER_STATUS",
    "DirectionDecision",
    "Reviewed",
    "RevisionRequest",
    "Rewrite",
    "check_paper",
    "check_rules",
    "critic2_report",
    "instance_count",
    "merge_candidates",
    "paper_draft",
    "reassessment",
    "render_report",
    "review_draft",
    "review_once",
    "review_paper",
]
