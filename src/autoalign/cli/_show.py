"""`autoalign show ...`: list runs, papers and artifacts, or print one of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from .._text import safe, safe_line
from ..vocabulary import Kind, Stage
from ._common import (
    MAX_ID,
    NEGATIVE_IDS,
    DbOption,
    IdArgument,
    RunFilter,
    console,
    open_store,
    parse_id,
    use_db,
)

if TYPE_CHECKING:
    from ..pipeline import ParagraphView, SelectionView

show_app = typer.Typer(
    rich_markup_mode=None,
    help="List runs, papers and artifacts, or print one of them.", invoke_without_command=True
)


@show_app.callback()
def _show(ctx: typer.Context, db: DbOption = None) -> None:
    """With no subcommand: list runs and papers."""
    use_db(db)
    if ctx.invoked_subcommand is None:
        show_runs(db=None)
        show_papers(run=None, db=None)


@show_app.command("runs")
def show_runs(db: DbOption = None) -> None:
    """List runs."""
    from rich.table import Table

    use_db(db)
    with open_store() as store:
        table = Table(title="runs", header_style="bold")
        for col in ("id", "name", "status", "seed", "started", "finished"):
            table.add_column(col)
        for r in store.run_summaries():
            table.add_row(str(r.id), safe(r.name), safe(r.status), str(r.seed),
                          f"{r.created_at:%Y-%m-%d %H:%M:%S}",
                          f"{r.finished_at:%Y-%m-%d %H:%M:%S}" if r.finished_at else "")
        console.print(table)


@show_app.command("papers")
def show_papers(run: RunFilter = None, db: DbOption = None) -> None:
    """List papers with their status."""
    from rich.table import Table

    use_db(db)
    with open_store() as store:
        table = Table(title="papers", header_style="bold")
        for col in ("id", "run", "status", "title"):
            table.add_column(col)
        for a in store.artifact_summaries(run_id=run, kind=Kind.PAPER):
            table.add_row(str(a.id), str(a.run_id), safe(a.status), safe(a.title or ""))
        console.print(table)


DEFAULT_LIMIT = 50
"""Rows `show artifacts` prints unless told otherwise: what a terminal shows."""


def print_selection(view: SelectionView | None) -> None:
    """The proposal and selection lines of `show run`."""
    from rich.table import Table

    console.rule("proposals and selection")
    if view is None:
        console.print("no selection yet")
        return

    def score(value: float | None) -> str:
        return "-" if value is None else f"{value:g}"

    table = Table(header_style="bold")
    for col in ("proposal", "revisions", "validity", "redundancy", "est. tokens", "status",
                "reason", "title"):
        table.add_column(col, overflow="fold")
    for p in view.proposals:
        table.add_row(str(p.id), str(p.revisions), score(p.validity), score(p.redundancy),
                      str(p.estimate_tokens or "-"), safe(p.status), safe_line(p.reason),
                      safe_line(p.title))
    console.print(table)
    budget = (f"{view.budget_tokens} tokens left" if view.budget_tokens is not None
              else "no token budget")
    console.print(f"selected {len(view.chosen)} project(s) {view.chosen} (cap "
                  f"{view.max_projects or '-'}): {view.committed_tokens} estimated tokens vs "
                  f"{budget}")
    for b in view.bundles:
        console.print(f"bundle {b.proposals}: {safe_line(b.reason)}")
    for s in view.screens:
        refused = sum(1 for r in view.refusals if r.screen_id == s.id)
        console.print(
            f"screen {s.id} between {s.project_a} and {s.project_b} "
            f"({'active' if s.active else 'lifted'}) on {safe_line(s.question)}: "
            f"{refused} refused read(s), {view.appeals.get(s.id, 0)} appeal(s)"
        )
    for r in view.refusals:
        console.print(f"  refused: proposal {r.reader_id} reading artifact {r.artifact_id} via "
                      f"{safe_line(r.via)} in {safe_line(r.step_key or '-')}")


@show_app.command("artifacts")
def show_artifacts(
    run: RunFilter = None,
    kind: Annotated[
        Kind | None, typer.Option(help="Only this kind (idea, paper, ...).", show_choices=True)
    ] = None,
    stage: Annotated[Stage | None, typer.Option(help="Only this stage.")] = None,
    limit: Annotated[
        int, typer.Option(min=0, help="Show at most this many, the most recent; 0 shows all.")
    ] = DEFAULT_LIMIT,
    before: Annotated[
        int | None,
        typer.Option(min=1, max=MAX_ID, help="Only artifacts with a smaller id (page back)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """List artifacts, the most recent --limit of them, oldest first, each with a preview of its
    text (no content is read). An unknown --kind or --stage is a usage error (exit code 2) that
    lists the known ones."""
    from rich.table import Table

    use_db(db)
    with open_store() as store:
        shown = store.artifact_summaries(run_id=run, kind=kind, stage=stage, before=before,
                                         limit=limit or None)
        left_out = 0
        if limit and len(shown) == limit:
            left_out = store.count_artifacts(run_id=run, kind=kind, stage=stage,
                                             before=shown[0].id)
    table = Table(title="artifacts", header_style="bold")
    for col in ("id", "run", "stage", "kind", "role", "status", "step", "preview"):
        table.add_column(col, overflow="fold")
    for a in shown:
        preview = (a.title or a.preview).replace("\n", " ")[:60]
        table.add_row(str(a.id), str(a.run_id), safe(a.stage), safe(a.kind),
                      safe(a.role or ""), safe(a.status), safe(a.step_key or ""),
                      safe_line(preview))
    console.print(table)
    if left_out:
        console.print(f"{left_out:,} earlier artifacts not shown; page back with --before "
                      f"{shown[0].id}, or show them all with --limit 0")


@show_app.command("paper", context_settings=NEGATIVE_IDS)
def show_paper(paper_id: IdArgument, db: DbOption = None) -> None:
    """Print a paper top-down: abstract, introduction, main text, appendix; per paragraph what
    it rests on, per number the sandbox run it came from (or untraced)."""
    from ..pipeline import read_paper

    use_db(db)
    number = parse_id(paper_id, what="paper")
    with open_store() as store:
        view = read_paper(store, number)
    p = view.paper
    console.print(f"[bold]{safe_line(p.title or '(untitled)')}[/]")
    console.print(f"paper {p.id} · run {p.run_id} · status {safe(p.status)}\n")
    for part in view.parts:
        a = part.artifact
        console.rule(f"{safe(part.name.replace('_', ' '))} · artifact {a.id}")
        if part.paragraphs:
            console.print(f"[bold]{safe_line(a.title or '')}[/]")
            for i, para in enumerate(part.paragraphs, start=1):
                _print_paragraph(i, para)
        else:
            console.print(safe(a.content_text))
        links = ", ".join(f"{link.relation} {link.artifact.kind} {link.artifact.id}"
                          for link in part.links)
        console.print(f"[dim]links: {safe_line(links)}[/]\n")
    if view.divergence is not None:
        d = view.divergence
        console.print(safe_line(
            f"divergence of the direct version (artifact {view.divergence_id}): {d.score:.2f} "
            f"(threshold {d.threshold:.2f}; claims {d.claims:.2f} of n={d.n_claims}, numbers "
            f"{d.numbers:.2f} of n={d.n_with_numbers}, conclusions {d.conclusions:.2f} of "
            f"n={d.n_with_direction})"
        ) + "\n")
    console.rule("claims")
    for c in view.claims:
        prob = f"p={c.probability:.2f}" if c.probability is not None else "p=?"
        console.print(f"- {safe(c.text)} ({prob})")
    console.rule("critique")
    for j in view.judgments:
        console.print(f"{safe(j.role)}: {safe(j.decision or '')} {safe(j.rationale)}")
    for f in view.flaws:
        console.print(safe(f"- [{f.severity}] {f.category}: {f.description}"))
    if not view.flaws:
        console.print("no flaws recorded")


def _print_paragraph(index: int, para: ParagraphView) -> None:
    """One paragraph of `show paper`: its text, what it rests on, and each number's source."""
    console.print(safe(f"[{index}] {para.text}"))
    cited = ", ".join(
        f"{link.kind} {link.artifact_id}"
        + (f" paragraph {link.paragraph}" if link.paragraph is not None else "")
        for link in para.links
    )
    console.print(f"[dim]  rests on: {safe_line(cited or 'nothing cited')}[/]")
    if para.dropped:
        console.print(f"[dim]  dropped (its writer was not shown them): "
                      f"{safe_line(', '.join(para.dropped))}[/]")
    for n in para.numbers:
        if n.run is None:
            where = "untraced"
        else:
            seed = "mean over seeds" if n.seed is None else f"seed {n.seed}"
            where = (f"sandbox_run {n.run} (arm {n.arm}, {n.metric}, {seed}, logged "
                     f"{n.value!r} in step_log {n.step_log})")
        console.print(f"[dim]  number {safe_line(n.text)}: {safe_line(where)}[/]")


@show_app.command("artifact", context_settings=NEGATIVE_IDS)
def show_artifact(artifact_id: IdArgument, db: DbOption = None) -> None:
    """Print one artifact with its status history (each change with its reason, e.g. why it
    is tainted) and provenance."""
    use_db(db)
    number = parse_id(artifact_id, what="artifact")
    with open_store() as store:
        a = store.artifact(number)
        history = store.status_history(a.id)
        parents = store.parents(a.id)
        downstream = store.count_descendants(a.id)
        erasure = store.erasure_of(a.id)  # log erasure (issue 14, part ER)
    console.print(f"[bold]artifact {a.id}[/] {safe(a.kind)} · stage {safe(a.stage)} · "
                  f"run {a.run_id}")
    console.print(f"role {safe(a.role or '-')} · model {safe(a.model or '-')} · step "
                  f"{safe(a.step_key or '-')} · prompt {safe(a.prompt_digest or '-')}")
    console.print("status: " + " → ".join(safe_line(e.status) for e in history))
    for e in history[1:]:  # the first event is the creation
        # Why it changed: a taint names the flaw, the review and the reviewer.
        console.print(f"  {safe_line(e.status)} at {e.created_at:%Y-%m-%d %H:%M:%S}: "
                      f"{safe_line(e.reason or '(no reason recorded)')}")
    console.print("made from: " + (", ".join(safe_line(f"{e.relation} {e.parent_id}")
                                             for e in parents) or "nothing"))
    console.print(f"downstream artifacts: {downstream}")
    if erasure is not None:
        console.print(f"[yellow]erased at {erasure.created_at:%Y-%m-%d %H:%M:%S} by policy "
                      f"{safe_line(erasure.policy)} ({erasure.policy_digest[:12]})[/]: "
                      f"{erasure.original_bytes} bytes (sha256 {erasure.original_sha256}) are "
                      "gone; the content below is the summary kept")
    console.rule()
    console.print(safe(a.content_text))


@show_app.command("run", context_settings=NEGATIVE_IDS)
def show_run(run_id: IdArgument, db: DbOption = None) -> None:
    """Print a run's stage 1 funnel: how many cases, ideas (babbled, after merge, after the
    screen), proposals and selected projects; the allocation of the idea budget with its
    intervals; how far the judges agreed; what was merged or screened out, and why; then what
    stage 1 decided about projects (proposals with their revisions and judges' scores, the
    selection against the budget, bundles, information screens and the reads they refused)."""
    from rich.table import Table

    from ..pipeline import selection_view, stage1_funnel

    use_db(db)
    number = parse_id(run_id, what="run", listing="autoalign show runs")
    with open_store() as store:
        run = store.get_run(number)
        funnel = stage1_funnel(store, run.id)
        selection = selection_view(store, run.id)
    console.print(f"[bold]run {run.id}[/] {safe_line(run.name)} · {safe_line(run.status)}"
                  + (f" · {safe_line(run.stop_reason)}" if run.stop_reason else ""))
    table = Table(title="stage 1 funnel", header_style="bold")
    for col in ("step", "count", ""):
        table.add_column(col, overflow="fold")
    for row in funnel.rows:
        table.add_row(row.step, str(row.count), safe_line(row.note))
    console.print(table)
    a = funnel.allocation
    if a is not None:
        console.print(
            f"allocation of {a.budget} babble samples ({a.n_comparisons} comparisons, "
            f"{a.n_human} human at weight {a.human_weight:g}; {a.level:.0%} bootstrap intervals"
            + (f"; judge weights {a.weights_version}" if a.weights_version else "") + "):"
        )
        for s in a.shares:
            console.print(f"  {safe_line(s.topic)}: {s.share:.2f} [{s.low:.2f}, {s.high:.2f}] "
                          f"-> {s.samples} sample(s)")
    g = funnel.agreement
    if g is not None:
        if g.agreed_interval is not None:
            console.print(
                f"judges agreed within {g.threshold:g} on {g.agreed} of {g.ideas} ideas "
                f"(n={g.ideas}, {g.agreed_interval.level:.0%} Wilson interval "
                f"[{g.agreed_interval.low:.2f}, {g.agreed_interval.high:.2f}]); mean spread "
                f"{g.mean_spread or 0.0:.2f}; {g.escalated} escalated to more judges, "
                f"{g.to_human} to a human"
            )
        if g.consistent_interval is not None:
            console.print(
                f"pairwise verdicts named the same case in both orders for {g.consistent} of "
                f"{g.pairs} pairs (n={g.pairs}, [{g.consistent_interval.low:.2f}, "
                f"{g.consistent_interval.high:.2f}]); the rest counted as ties"
            )
    for d in funnel.dropped:
        console.print(f"  {d.status}: idea {d.idea_id} {safe_line(d.title)}: "
                      f"{safe_line(d.reason)}")
    print_selection(selection)


def register(app: typer.Typer) -> None:
    """Add the `show` group to `app`."""
    app.add_typer(show_app, name="show")
