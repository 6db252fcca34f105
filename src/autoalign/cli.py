"""The `autoalign` command line. Thin: it parses, calls the packages, and prints."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from ._cli_calibration import register as _register_calibration
from ._cli_testbeds import testbeds_app
from .agenda import load_agenda
from .errors import AutoalignError
from .models import CallEvent, check_models
from .pipeline import ROLES, RunSummary, read_paper, run_agenda_sync
from .store import DB_ENV_VAR, Store

app = typer.Typer(
    help="Run automated alignment research and measure how far its output can be trusted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
show_app = typer.Typer(
    help="List runs, papers and artifacts, or print one of them.", invoke_without_command=True
)
app.add_typer(show_app, name="show")
app.add_typer(testbeds_app, name="testbeds")

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

QUICKSTART = Path(__file__).parent / "_quickstart.toml"
"""The agenda `autoalign init` writes; the same file as examples/quickstart.toml."""


class _State:
    db: str | None = None


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", envvar=DB_ENV_VAR, help="SQLAlchemy URL of the research database.",
        show_default=".autoalign/research.db",
    ),
]


@app.callback()
def _root(db: DbOption = None) -> None:
    _State.db = db


def _store() -> Store:
    return Store.open(_State.db)


class RichProgress:
    """Draws one progress bar per stage and a line per finished step; a model call that keeps
    the run waiting shows on the stage's line, and a retried call prints a line."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None
        self._stage = ""
        self._waiting: dict[int, CallEvent] = {}

    def stage(self, name: str, steps: int) -> None:
        if self._task is not None:
            done = self._progress.tasks[self._task].completed
            self._progress.update(self._task, total=done, description=self._stage)
        self._stage = name
        self._task = self._progress.add_task(name, total=steps)

    def step(self, key: str, outcome: str) -> None:
        style = {"done": "green", "resumed": "cyan", "failed": "red"}.get(outcome, "white")
        self._progress.console.print(f"  [{style}]{outcome:>7}[/] {escape(key)}")
        if self._task is not None:
            self._progress.advance(self._task)

    def call(self, event: CallEvent) -> None:
        if event.kind == "retry":
            self._progress.console.print(
                f"  [yellow]  retry[/] {event.attempt}/{event.max_attempts} after "
                f"{escape(event.reason or 'an error')} in {event.delay_s:.1f}s "
                f"({escape(event.model)}, {escape(event.role)})"
            )
        elif event.kind == "waiting":
            self._waiting[event.call] = event
        else:
            self._waiting.pop(event.call, None)
        if self._task is None:
            return
        line = self._stage
        if self._waiting:
            line += "  " + escape(waiting_line(list(self._waiting.values())))
        self._progress.update(self._task, description=line)


def waiting_line(waiting: list[CallEvent]) -> str:
    """`waiting 12s for openai:gpt-4o (critic-2, step examine/critic-2)`, for the call that has
    waited longest, and how many more are waiting."""
    e = max(waiting, key=lambda event: event.waited_s)
    step = f", step {e.step_key}" if e.step_key else ""
    tries = f", attempt {e.attempt}/{e.max_attempts}" if e.attempt > 1 else ""
    more = f" (+{len(waiting) - 1} more)" if len(waiting) > 1 else ""
    return f"waiting {e.waited_s:.0f}s for {e.model} ({e.role}{step}{tries}){more}"


# -- commands --------------------------------------------------------------------------------


@app.command()
def init(
    agenda: Annotated[
        Path, typer.Option(help="Where to write a starter agenda (kept if it exists).")
    ] = Path("agenda.toml"),
) -> None:
    """Create the research database and a starter agenda."""
    store = _store()
    console.print(f"database ready: {escape(str(store.engine.url.render_as_string()))}")
    store.close()
    if agenda.exists():
        console.print(f"agenda kept: {agenda} (already exists)")
    else:
        agenda.write_text(QUICKSTART.read_text(encoding="utf-8"), encoding="utf-8")
        console.print(f"agenda written: {agenda}; run it with `autoalign run {agenda}`")


@app.command()
def run(
    agenda_path: Annotated[Path, typer.Argument(metavar="AGENDA", help="Agenda TOML file.")],
    new: Annotated[
        bool, typer.Option("--new", help="Start a fresh run even if one exists for this agenda.")
    ] = False,
    takeover: Annotated[
        bool,
        typer.Option(
            "--takeover",
            help="Resume even if a process on another host is recorded as running it.",
        ),
    ] = False,
) -> None:
    """Run an agenda through propose → execute → write up → cross-examine.

    Re-running the same agenda resumes its unfinished run: finished steps are kept and model
    answers are served from the cache.
    """
    agenda = load_agenda(agenda_path)
    check_models(agenda.models, ROLES)
    with _store() as store:
        with Progress(*_bar_columns(), console=console, transient=False) as bar:
            summary = run_agenda_sync(
                agenda, store=store, progress=RichProgress(bar), new=new, takeover=takeover
            )
        _print_summary(summary)
        if summary.run.status == "failed":
            raise typer.Exit(1)


def _print_summary(summary: RunSummary) -> None:
    run = summary.run
    if summary.already_completed:
        console.print(
            f"run {run.id} of this agenda already completed; nothing to do "
            "(pass --new for a fresh run)."
        )
    verb = "resumed" if summary.resumed else "ran"
    console.print(
        f"\n[bold]run {run.id}[/] ({escape(run.name)}) {verb}: status [bold]{run.status}[/]"
    )
    if run.stop_reason:
        console.print(f"reason: {escape(run.stop_reason)}")
    table = Table(show_header=True, header_style="bold")
    table.add_column("stage")
    table.add_column("artifacts", justify="right")
    for stage, count in summary.artifacts_per_stage.items():
        table.add_row(stage, str(count))
    console.print(table)
    u = summary.usage
    cost = f"${u.cost_usd:.4f}" + (f" (+{u.unpriced_calls} calls of unknown price)"
                                   if u.unpriced_calls else "")
    console.print(
        f"LLM calls: {u.calls} ({u.cache_hits} from cache, {u.errors} with errors)  "
        f"tokens: {u.input_tokens} in / {u.output_tokens} out  cost: {cost}  "
        f"time: {summary.wall_s:.1f}s"
    )
    if summary.paper_id is not None:
        console.print(
            f"paper: artifact {summary.paper_id}, status {summary.paper_status}; "
            f"read it with `autoalign show paper {summary.paper_id}`"
        )


@app.command()
def study(
    testbeds: Annotated[
        list[str] | None, typer.Argument(help="Testbeds to study (default: every testbed).")
    ] = None,
    seeds: Annotated[int, typer.Option(help="Paired seeds per arm (at least 2).")] = 5,
    first_seed: Annotated[int, typer.Option(help="First seed of the experiments.")] = 0,
    workers: Annotated[
        int | None, typer.Option(help="Sandboxed runs at once (default: one per core).")
    ] = None,
) -> None:
    """Answer every testbed question by a small sandboxed experiment and record the claims.

    Each claim carries the effect estimate, its 95% interval and the probability that the
    question's answer is yes; `autoalign calibration` scores them against ground truth.
    """
    from .pipeline.study import run_study
    from .sandbox import Limits, LocalBackend, isolation_level
    from .testbeds import list_testbeds

    names = testbeds or [t.name for t in list_testbeds()]
    with _store() as store, LocalBackend(workers=workers) as backend:
        total = sum(len(t.questions) for t in list_testbeds() if t.name in names)
        console.print(f"sandbox isolation: {isolation_level()}")
        with Progress(*_bar_columns(), console=console) as bar:
            task = bar.add_task("study", total=total)
            done = run_study(
                store, testbeds=names, seeds=seeds, first_seed=first_seed, backend=backend,
                limits=Limits(wall_s=120, cpu_s=120), on_done=lambda _r: bar.advance(task),
            )
            bar.update(task, completed=total)
        table = Table(title=f"run {done.run_id}: claims", header_style="bold")
        for col in ("testbed", "question", "n", "estimate", "95% CI", "P(yes)"):
            table.add_column(col, no_wrap=col != "question")
        for r in done.results:
            table.add_row(r.testbed, r.question_id, str(r.n_seeds), f"{r.effect:+.3f}",
                          f"{r.ci_low:+.3f} to {r.ci_high:+.3f}", f"{r.probability:.4f}")
        console.print(table)
        console.print(f"{len(done.results)} claims in run {done.run_id}"
                      + (" (resumed)" if done.resumed else "")
                      + "; score them with `autoalign calibration`")


def _bar_columns() -> tuple[TextColumn, BarColumn, MofNCompleteColumn]:
    return (TextColumn("[bold]{task.description:<8}"), BarColumn(), MofNCompleteColumn())


@app.command()
def status() -> None:
    """Show each run's status, progress and spending."""
    with _store() as store:
        runs = store.list_runs()
        if not runs:
            console.print("no runs yet; start one with `autoalign run AGENDA`")
            return
        table = Table(header_style="bold")
        for col in ("run", "name", "status", "artifacts", "calls (cached)", "tokens", "cost $"):
            table.add_column(col, no_wrap=True)
        reasons = []
        for r in runs:
            u = store.run_usage(r.id)
            table.add_row(
                str(r.id), escape(r.name[:24]), r.status,
                str(len(store.artifacts(run_id=r.id))),
                f"{u.calls} ({u.cache_hits})"
                + (f", {u.unfinished_calls} unfinished" if u.unfinished_calls else ""),
                str(u.input_tokens + u.output_tokens), f"{u.cost_usd:.4f}",
            )
            if r.stop_reason:
                reasons.append(f"run {r.id}: {r.stop_reason}")
        console.print(table)
        for reason in reasons:
            console.print(escape(reason))
        console.print(f"open review requests: {store.count_review_requests()}")


@show_app.callback()
def _show(ctx: typer.Context) -> None:
    """With no subcommand: list runs and papers."""
    if ctx.invoked_subcommand is None:
        show_runs()
        show_papers(run=None)


@show_app.command("runs")
def show_runs() -> None:
    """List runs."""
    with _store() as store:
        table = Table(title="runs", header_style="bold")
        for col in ("id", "name", "status", "seed", "started", "finished"):
            table.add_column(col)
        for r in store.list_runs():
            table.add_row(str(r.id), escape(r.name), r.status, str(r.seed),
                          f"{r.created_at:%Y-%m-%d %H:%M:%S}",
                          f"{r.finished_at:%Y-%m-%d %H:%M:%S}" if r.finished_at else "")
        console.print(table)


@show_app.command("papers")
def show_papers(
    run: Annotated[int | None, typer.Option(help="Only this run's papers.")] = None,
) -> None:
    """List papers with their status."""
    with _store() as store:
        table = Table(title="papers", header_style="bold")
        for col in ("id", "run", "status", "title"):
            table.add_column(col)
        for a in store.artifacts(run_id=run, kind="paper"):
            table.add_row(str(a.id), str(a.run_id), a.status, escape(a.title or ""))
        console.print(table)


@show_app.command("artifacts")
def show_artifacts(
    run: Annotated[int | None, typer.Option(help="Only this run's artifacts.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind (idea, paper, ...).")] = None,
    stage: Annotated[str | None, typer.Option(help="Only this stage.")] = None,
) -> None:
    """List artifacts."""
    with _store() as store:
        table = Table(title="artifacts", header_style="bold")
        for col in ("id", "run", "stage", "kind", "role", "status", "step", "preview"):
            table.add_column(col, overflow="fold")
        for a in store.artifacts(run_id=run, kind=kind, stage=stage):
            preview = (a.title or a.content_text).replace("\n", " ")[:60]
            table.add_row(str(a.id), str(a.run_id), a.stage, a.kind, a.role or "", a.status,
                          escape(a.step_key or ""), escape(preview))
        console.print(table)


@show_app.command("paper")
def show_paper(paper_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Print a paper top-down: abstract, introduction, main text, appendix, with their links."""
    with _store() as store:
        view = read_paper(store, paper_id)
    p = view.paper
    console.print(f"[bold]{escape(p.title or '(untitled)')}[/]")
    console.print(f"paper {p.id} · run {p.run_id} · status {p.status}\n")
    for part in view.parts:
        a = part.artifact
        console.rule(f"{part.name.replace('_', ' ')} · artifact {a.id}")
        console.print(escape(a.content_text))
        links = ", ".join(f"{link.relation} {link.artifact.kind} {link.artifact.id}"
                          for link in part.links)
        console.print(f"[dim]links: {escape(links)}[/]\n")
    console.rule("claims")
    for c in view.claims:
        prob = f"p={c.probability:.2f}" if c.probability is not None else "p=?"
        console.print(f"- {escape(c.text)} ({prob})")
    console.rule("critique")
    for j in view.judgments:
        console.print(f"{j.role}: {j.decision or ''} {escape(j.rationale)}")
    for f in view.flaws:
        console.print(escape(f"- [{f.severity}] {f.category}: {f.description}"))
    if not view.flaws:
        console.print("no flaws recorded")


@show_app.command("artifact")
def show_artifact(artifact_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Print one artifact with its status history and provenance."""
    with _store() as store:
        a = store.artifact(artifact_id)
        history = store.status_history(a.id)
        parents = store.parents(a.id)
        children = store.descendants(a.id)
    console.print(f"[bold]artifact {a.id}[/] {a.kind} · stage {a.stage} · run {a.run_id}")
    console.print(f"role {a.role or '-'} · model {escape(a.model or '-')} · step "
                  f"{escape(a.step_key or '-')} · prompt {a.prompt_digest or '-'}")
    console.print("status: " + " → ".join(f"{e.status}" for e in history))
    console.print("made from: " + (", ".join(f"{e.relation} {e.parent_id}" for e in parents)
                                   or "nothing"))
    console.print(f"downstream artifacts: {len(children)}")
    console.rule()
    console.print(escape(a.content_text))


_register_calibration(app, _store)


def main() -> None:
    """Entry point: project errors become one line on stderr and exit code 1."""
    try:
        app()
    except AutoalignError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(1)
