"""Re-review: papers reviewed again with the current critics, and what changed.

`autoalign rereview` (and `autoalign run --rereview K`) takes the papers that open re-review
requests name (from critic #3's contradictions, or a rollback's `re-review` policy) and a
seeded random sample of `accepted` papers, and runs the write-up's critic #2 on each again, as a
run of its own: the programmatic checks (recorded once per critic version and artifact, so only
a newer check adds flaws), then babble and prune (`c2.babble` instances, `c2.investigate`) and
the report, under the scrutiny the paper was last reviewed with (plus the extra scrutiny a
request asks for: a retroactive deeper review of a load-bearing paper, `autoalign.learning`).
Each paper gets a `rereview` record: critic #2's decision before (its latest judgment) and
now, and the flaws that are new. A changed decision does not change the paper's status: it
opens a human review request on the paper. Each re-review samples the critic anew (its own
seed), never a replay of the cached review.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from dataclasses import dataclass

from pydantic import ValidationError

from ..agenda import Agenda, Critic2Section
from ..critics import PAPER_SECTIONS
from ..errors import ConfigError
from ..models import ModelClient, check_models
from ..runtime import Findings, NullProgress, ProgressSink, StageContext
from ..store import Store
from ..vocabulary import Kind, Relation, Role, RunStatus, Stage, Status
from ._across import Rereview, RereviewRequest
from ._critic2 import instance_count, paper_draft, review_once
from ._divergence import NO_SCRUTINY, Scrutiny
from ._schemas import PaperContent

STAGE = Stage.REREVIEW
RESAMPLE_STRIDE = 7_000_003
"""A re-review's model client samples with `seed + run id * stride`: each re-review asks the
critic anew instead of reading back the answer the write-up's review cached."""


@dataclass(frozen=True, kw_only=True)
class RereviewReport:
    """What one re-review did."""

    run_id: int
    """The re-review's own run (its model calls and records)."""
    reviewed: tuple[Rereview, ...]
    requests: tuple[int, ...]
    """The re-review requests acted on."""


def open_requests(store: Store) -> list[tuple[int, RereviewRequest]]:
    """Re-review requests no re-review has acted on yet (oldest first), with their content."""
    acted = {
        e.parent_id
        for a in store.artifacts(kind=Kind.REREVIEW)
        for e in store.parents(a.id)
    }
    return [
        (a.id, RereviewRequest.model_validate(a.content_json))
        for a in store.artifacts(kind=Kind.REREVIEW_REQUEST)
        if a.id not in acted and a.status != Status.FAILED
    ]


def _choose(
    store: Store, *, sample: int, seed: int
) -> tuple[list[int], dict[int, list[int]], dict[int, Scrutiny]]:
    """The papers to re-review: every paper an open request names, then `sample` accepted
    papers drawn with `seed`; per paper, the requests that named it, and the deepest extra
    scrutiny they ask for (a retroactive deeper review's)."""
    asked: dict[int, list[int]] = {}
    deeper: dict[int, Scrutiny] = {}
    for request_id, request in open_requests(store):
        for paper in request.paper_ids:
            asked.setdefault(paper, []).append(request_id)
            if request.extra_critics or request.escalation_drop:
                had = deeper.get(paper, NO_SCRUTINY)
                deeper[paper] = Scrutiny(
                    extra_critics=max(had.extra_critics, request.extra_critics),
                    escalation_drop=max(had.escalation_drop, request.escalation_drop),
                )
    accepted = sorted(
        a.id for a in store.artifacts(kind=Kind.PAPER)
        if a.status == Status.ACCEPTED and a.id not in asked
    )
    drawn = random.Random(seed).sample(accepted, min(sample, len(accepted)))
    return [*asked, *sorted(drawn)], asked, deeper


def _before(store: Store, paper_id: int) -> tuple[str | None, Scrutiny]:
    """Critic #2's latest decision on the paper, and the scrutiny it was reviewed under (so the
    re-review compares like with like)."""
    latest = [j for j in store.judgments(artifact_id=paper_id)
              if j.role == Role.CRITIC_2 and j.decision]
    if not latest:
        return None, NO_SCRUTINY
    judgment = latest[-1]
    report = (store.artifact(judgment.judge_artifact_id).content_json
              if judgment.judge_artifact_id is not None else None)
    if not isinstance(report, dict):
        return judgment.decision, NO_SCRUTINY
    return judgment.decision, Scrutiny(
        extra_critics=int(report.get("extra_critics", 0)),
        escalation_drop=float(report.get("escalation_drop", 0.0)),
    )


def _flaw_keys(store: Store, ids: list[int]) -> dict[int, tuple[str | None, str, str, int]]:
    """Flaws on `ids` by id, each with what makes it the same flaw again: critic, category,
    severity and artifact."""
    return {
        f.id: (f.critic, f.category, f.severity, f.artifact_id)
        for f in store.flaws(artifact_ids=ids)
    }


async def _one(
    ctx: StageContext, paper_id: int, requests: list[int], deeper: Scrutiny = NO_SCRUTINY
) -> Rereview | None:
    """Re-review one paper (`deeper`: scrutiny added to the paper's last review's); None
    when it is not a complete paper."""
    store = ctx.store
    paper = ctx.typed(store.artifact(paper_id), PaperContent)
    if paper.output is None or set(paper.output.sections) != set(PAPER_SECTIONS):
        return None
    draft = paper_draft(store, paper)
    if draft is None:
        return None
    where = [paper_id, *paper.output.sections.values()]
    had = _flaw_keys(store, where)
    before, scrutiny = _before(store, paper_id)
    if deeper != NO_SCRUTINY:  # a retroactive deeper review (issue 14, part CK)
        scrutiny = Scrutiny(
            extra_critics=scrutiny.extra_critics + deeper.extra_critics,
            escalation_drop=min(1.0, scrutiny.escalation_drop + deeper.escalation_drop),
        )
    # The write-up's critic #2 (babble and prune) as it is now, deciding as a first review
    # would (every revision round left); its decision does not act on the paper.
    report = await review_once(
        ctx, paper=paper, draft=draft, key=f"rereview/{paper_id}", round_=0,
        scrutiny=scrutiny, rounds_left=ctx.agenda.critic2.revision_rounds, stage=STAGE,
        apply=False,
    )
    after = report.output.decision.value if report.output is not None else None
    known = set(had.values())
    new = sorted(i for i, k in _flaw_keys(store, where).items() if i not in had and k not in known)
    changed = (after is not None and after != before) or bool(new)
    result = ctx.record(
        key=f"rereview/{paper_id}",
        kind=Kind.REREVIEW,
        stage=STAGE,
        title=f"re-review of paper {paper_id}: {before or '-'} → {after or 'no valid critique'}",
        content=Rereview(
            paper_id=paper_id, before=before, after=after, new_flaws=new, changed=changed,
        ),
        render=lambda r: (
            f"Paper {r.paper_id}: critic-2 decided {r.before or '-'} before, "
            f"{r.after or 'no valid critique'} now; {len(r.new_flaws)} new flaw(s)"
            + (f" ({', '.join(map(str, r.new_flaws))})" if r.new_flaws else "")
        ),
        parents=[(paper_id, Relation.DERIVED_FROM)]
        + ([(report.id, Relation.DERIVED_FROM)] if report.artifact is not None else [])
        + [(rid, Relation.DERIVED_FROM) for rid in requests],
        findings=lambda r: None if r.output is None or r.output.after in (None, r.output.before)
        else Findings(
            about=paper_id,
            reviews=[f"re-review: critic-2 decided {r.output.after}, "
                     f"was {r.output.before or 'undecided'}"],
        ),
    )
    return result.output


def _agenda_of(store: Store, paper_id: int) -> Agenda:
    """The agenda the paper's run recorded.

    Raises:
        ConfigError: it cannot be read as an agenda of this version (pass one instead).
    """
    run_id = store.artifact(paper_id).run_id
    config = store.get_run(run_id).config if run_id is not None else {}
    try:
        return Agenda.model_validate(config)
    except ValidationError as exc:
        raise ConfigError(
            f"paper {paper_id}'s run {run_id} recorded no agenda this version can read "
            f"({exc.error_count()} problem(s)); pass --agenda AGENDA to name the models"
        ) from None


async def rereview(
    store: Store,
    *,
    sample: int = 3,
    seed: int = 0,
    agenda: Agenda | None = None,
    progress: ProgressSink | None = None,
) -> RereviewReport:
    """Re-review the papers open requests name and `sample` accepted papers drawn with `seed`,
    with critic #2 as it is now; record what changed (see the module docstring).

    The LLM review asks the model `agenda` gives the `critic-2` role; without an agenda, the
    one each paper's own run was configured with.

    Raises:
        ConfigError: a model cannot be used.
        ValueError: `sample` is negative.
    """
    if sample < 0:
        raise ValueError(f"sample must be 0 or more, got {sample}")
    papers, asked, deeper = _choose(store, sample=sample, seed=seed)
    digest = hashlib.sha256(json.dumps(
        {"rereview": papers, "seed": seed}, sort_keys=True).encode()).hexdigest()
    run = store.start_run(
        name=f"rereview of {len(papers)} paper(s)", agenda_digest=digest, new=True,
        config={"rereview": papers, "sample": sample, "seed": seed}, seed=seed,
    ).run
    sink = progress or NullProgress()
    reviewed: list[Rereview] = []
    try:
        settings = agenda.critic2 if agenda is not None else Critic2Section()
        # About: the instances, the investigations, the report and the re-review record.
        sink.stage(STAGE, sum(
            instance_count(settings.instances, deeper.get(p, NO_SCRUTINY).extra_critics)
            + settings.investigate + 2 for p in papers))
        for paper_id in papers:
            source = agenda or _agenda_of(store, paper_id)
            check_models(source.models, [Role.CRITIC_2.value])
            client = ModelClient(
                config=source.models, ledger=store, run_id=run.id, budget=source.budget,
                # A new sample of the critic, never a replay of the cached review.
                seed=seed + run.id * RESAMPLE_STRIDE, on_call=sink.call,
            )
            ctx = StageContext(store=store, client=client, run=run, agenda=source,
                               progress=sink)
            try:
                done = await _one(ctx, paper_id, asked.get(paper_id, []),
                                  deeper.get(paper_id, NO_SCRUTINY))
            finally:
                await client.aclose()
            if done is not None:
                reviewed.append(done)
    except BaseException as exc:
        store.set_run_status(run.id, RunStatus.FAILED if isinstance(exc, Exception)
                             else RunStatus.STOPPED, reason=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    store.set_run_status(run.id, RunStatus.COMPLETED)
    return RereviewReport(
        run_id=run.id, reviewed=tuple(reviewed),
        requests=tuple(sorted({r for rs in asked.values() for r in rs})),
    )


def rereview_sync(
    store: Store, *, sample: int = 3, seed: int = 0, agenda: Agenda | None = None,
    progress: ProgressSink | None = None,
) -> RereviewReport:
    """Synchronous twin of `rereview`, for the CLI."""
    return asyncio.run(
        rereview(store, sample=sample, seed=seed, agenda=agenda, progress=progress)
    )


__all__ = ["RereviewReport", "open_requests", "rereview", "rereview_sync"]
