"""`autoalign review ...`: the human review queue. Thin: `autoalign.review` holds the logic (the
priority order, the context of a request, decisions and rollback); this module parses and prints,
every stored text through `safe` / `safe_line`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from .._environment import REVIEWER_ENV_VAR
from .._text import safe, safe_line
from ..vocabulary import ReviewDecision, Severity
from ._common import NEGATIVE_IDS, DbOption, IdArgument, console, open_store, parse_id, use_db

if TYPE_CHECKING:
    from ..review import RequestContext
    from ..store import FlawRecord, ReviewDecisionRecord, ReviewLabelRecord

review_app = typer.Typer(
    rich_markup_mode=None,
    help="The human review queue: list review requests by priority, show one with its context, "
    "record a decision (a confirmed flaw taints everything downstream).",
    no_args_is_help=True,
)

LISTING = "autoalign review list --all"


def register(app: typer.Typer) -> None:
    """Mount `autoalign review` on `app`."""
    app.add_typer(review_app, name="review")


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment else "-"


@review_app.command("list")
def list_command(
    all_: Annotated[
        bool, typer.Option("--all", help="Resolved requests too, after the open ones.")
    ] = False,
    db: DbOption = None,
) -> None:
    """List open review requests, most urgent first: worst flaw severity in the request's
    context, then artifacts downstream, then age."""
    from rich.table import Table

    from ..review import review_queue

    use_db(db)
    with open_store() as store:
        entries = review_queue(store, include_resolved=all_)
    if not entries:
        console.print("no review requests" if all_ else "no open review requests")
        return
    table = Table(title="review requests", header_style="bold")
    for col in ("id", "status", "worst flaw", "flaws", "downstream", "labels", "artifact",
                "created", "reason"):
        table.add_column(col, overflow="fold")
    for e in entries:
        r = e.request
        status = r.status.value if r.resolution is None else f"{r.status} ({r.resolution})"
        table.add_row(
            str(r.id), status, e.worst_severity or "-", str(e.flaws), str(e.downstream),
            str(e.labels), f"{e.artifact.id} {safe(e.artifact.kind)} ({safe(e.artifact.status)})",
            _when(r.created_at), safe_line(r.reason),
        )
    console.print(table)


@review_app.command("show", context_settings=NEGATIVE_IDS)
def show_command(request_id: IdArgument, db: DbOption = None) -> None:
    """Print one review request with its full context: the artifact, its flaws (critic id and
    version, severity, description), the critique, the provenance chain up to the roots, the
    logs and sandbox runs it rests on, what lies downstream, and the decisions so far."""
    from ..review import request_context

    use_db(db)
    number = parse_id(request_id, what="review request", listing=LISTING)
    with open_store() as store:
        view = request_context(store, number)
    _print_context(view)


def _print_context(view: RequestContext) -> None:
    r, a = view.request, view.artifact
    resolution = f" ({r.resolution}, {_when(r.resolved_at)})" if r.resolution else ""
    console.print(f"[bold]review request {r.id}[/] · {r.status}{resolution} · created "
                  f"{_when(r.created_at)}")
    console.print(f"reason: {safe_line(r.reason)}")
    console.rule(f"artifact {a.id} · {safe_line(a.kind)} · stage {safe_line(a.stage)} · run "
                 f"{a.run_id} · status {safe_line(a.status)}")
    if a.title:
        console.print(f"[bold]{safe_line(a.title)}[/]")
    console.print(safe(a.content_text))
    kinds = {a.id: a.kind, **{x.artifact.id: x.artifact.kind for x in view.ancestors}}
    console.rule(f"flaws ({len(view.flaws)}, on the artifact and upstream)")
    for f in view.flaws:
        console.print(_flaw_line(f, kinds.get(f.artifact_id, "?")))
        console.print(f"    {safe(f.description)}")
    if not view.flaws:
        console.print("no flaws recorded")
    console.rule("critique")
    for j in view.judgments:
        console.print(f"{safe_line(j.role)}: {safe_line(j.decision or '-')} · "
                      f"{safe(j.rationale)}")
    if not view.judgments:
        console.print("no verdict recorded")
    console.rule("provenance")
    console.print("made from: " + (", ".join(safe_line(f"{e.relation} {e.parent_id}")
                                             for e in view.parents) or "nothing"))
    console.print(f"upstream, up to the roots ({len(view.ancestors)}):")
    for x in reversed(view.ancestors):
        made = ", ".join(safe_line(f"{e.relation} {e.parent_id}") for e in x.parents)
        console.print(f"  {x.artifact.id} {safe_line(x.artifact.kind)} "
                      f"({safe_line(x.artifact.status)}) ← {made or 'root'}")
    console.print("logs: " + (", ".join(map(str, view.logs)) or "none"))
    console.print("sandbox runs: " + (", ".join(map(str, view.sandbox_runs)) or "none"))
    downstream = ", ".join(map(str, view.downstream))
    console.print(f"downstream: {len(view.downstream)} artifact(s)"
                  + (f": {downstream}" if downstream else "")
                  + " (a confirm taints them)")
    console.rule("decisions")
    for label in view.labels:
        console.print(_label_line(label))
        if label.comment:
            console.print(f"    {safe(label.comment)}")
    if not view.labels:
        console.print("none yet")
    console.print(f"\ndecide: autoalign review decide {r.id} --decision "
                  "confirm|dismiss|unsure [--flaw ID] [--comment TEXT] [--severity S]")


def _flaw_line(f: FlawRecord, kind: str) -> str:
    critic = f"critic {safe_line(f.critic)} v{safe_line(f.critic_version)}" if f.critic else (
        "no registered critic")
    found = f" · found by artifact {f.found_by_id}" if f.found_by_id is not None else ""
    return (f"- flaw {f.id} on artifact {f.artifact_id} ({safe_line(kind)}) "
            f"{safe_line(f'[{f.severity}]')} {safe_line(f.category)} · {critic}{found}")


def _label_line(label: ReviewLabelRecord) -> str:
    about = f" on flaw {label.flaw_id}" if label.flaw_id is not None else ""
    corrected = (f", severity corrected to {safe_line(label.corrected_severity)}"
                 if label.corrected_severity else "")
    return (f"- label {label.id}: {label.decision}{about} by {safe_line(label.reviewer)} at "
            f"{_when(label.created_at)}{corrected}")


@review_app.command("decide", context_settings=NEGATIVE_IDS)
def decide_command(
    request_id: IdArgument,
    decision: Annotated[
        ReviewDecision,
        typer.Option(help="confirm the flaw (taints everything downstream), dismiss it, or "
                     "unsure (the request stays open).", show_default=False),
    ],
    flaw: Annotated[
        str | None,
        typer.Option(help="The flaw the decision is about (an id `review show` lists); a "
                     "confirm then marks that flaw's artifact flawed.", show_default=False),
    ] = None,
    comment: Annotated[str, typer.Option(help="Why; stored with the label.")] = "",
    severity: Annotated[
        Severity | None,
        typer.Option(help="The severity the flaw really has, if the critic's is wrong.",
                     show_default=False),
    ] = None,
    reviewer: Annotated[
        str | None,
        typer.Option(envvar=REVIEWER_ENV_VAR, help="Who decides (default: "
                     f"${REVIEWER_ENV_VAR}).", show_default=False),
    ] = None,
    db: DbOption = None,
) -> None:
    """Record a decision on a review request as a label (with the reviewer and time). confirm
    resolves it and rolls back: the flawed artifact becomes `flawed`, everything downstream
    `tainted`; dismiss resolves it; unsure leaves it open."""
    from ..review import check_reviewer, decide

    use_db(db)
    number = parse_id(request_id, what="review request", listing=LISTING)
    flaw_id = parse_id(flaw, what="flaw", listing=f"autoalign review show {number}") if (
        flaw is not None) else None
    name = check_reviewer(reviewer)  # before the database is opened
    with open_store(writable=True) as store:
        done = decide(store, number, decision=decision, reviewer=name, flaw_id=flaw_id,
                      comment=comment, corrected_severity=severity)
    _print_decision(done)


def _print_decision(done: ReviewDecisionRecord) -> None:
    label, request = done.label, done.request
    about = f" on flaw {label.flaw_id}" if label.flaw_id is not None else ""
    console.print(f"review request {request.id}: {label.decision}{about} by "
                  f"{safe_line(label.reviewer)} recorded as label {label.id}")
    if request.resolution is None:
        console.print("the request stays open")
    else:
        console.print(f"the request is resolved: {request.resolution}")
    rb = done.rollback
    if rb is None:
        console.print("nothing tainted")
        return
    marked = "marked flawed" if rb.marked_flawed else "was already flawed"
    console.print(f"artifact {rb.artifact_id} {marked}")
    already = len(rb.downstream) - len(rb.tainted)
    tainted = ", ".join(map(str, rb.tainted))
    console.print(f"tainted {len(rb.tainted)} artifact(s) downstream"
                  + (f": {tainted}" if tainted else "")
                  + (f" ({already} already were)" if already else ""))
