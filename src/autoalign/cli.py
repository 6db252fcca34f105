"""The `autoalign` command line. Thin: it parses, calls the packages, and prints."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from ._cli_calibration import register as _register_calibration
from ._cli_testbeds import testbeds_app
from ._text import clip, safe, safe_line
from .agenda import MAX_SEED, load_agenda
from .errors import AutoalignError, UsageError
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

EXIT_ERROR = 1
"""A project error: bad input, configuration, a database that cannot be used."""
EXIT_STOPPED = 3
"""The run ended `stopped` (budget spent, a step failed under `on_failure = "stop"`, ...)."""
EXIT_FAILED = 4
"""The run ended `failed` (a provider error that retries did not fix)."""

MAX_ID = 2**63 - 1
"""Largest id a database row can have (SQLite INTEGER, PostgreSQL BIGINT)."""


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


def _store(*, create: bool = False) -> Store:
    """The research database; commands that only read pass `create=False` (the default), so a
    missing database is an error rather than a new empty one."""
    return Store.open(_State.db, create=create)


def _parse_id(value: str, *, what: str) -> int:
    """A row id given on the command line: a positive integer that fits the database."""
    text = value.strip()
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 19 else 0
    if not 1 <= number <= MAX_ID:
        raise UsageError(
            f"{what} id must be a positive integer up to {MAX_ID} (got {clip(value, limit=40)!r}); "
            "list them with `autoalign show`"
        )
    return number


RunFilter = Annotated[
    int | None, typer.Option("--run", min=1, max=MAX_ID, help="Only this run's rows.")
]
IdArgument = Annotated[str, typer.Argument(metavar="ID", show_default=False)]
_NEGATIVE_IDS = {"ignore_unknown_options": True}
"""Lets `show artifact -1` reach the id check instead of failing as an unknown option."""


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
        self._progress.console.print(f"  [{style}]{outcome:>7}[/] {safe(key)}")
        if self._task is not None:
            self._progress.advance(self._task)

    def call(self, event: CallEvent) -> None:
        if event.kind == "retry":
            self._progress.console.print(
                f"  [yellow]  retry[/] {event.attempt}/{event.max_attempts} after "
                f"{safe(event.reason or 'an error')} in {event.delay_s:.1f}s "
                f"({safe(event.model)}, {safe(event.role)})"
            )
        elif event.kind == "waiting":
            self._waiting[event.call] = event
        else:
            self._waiting.pop(event.call, None)
        if self._task is None:
            return
        line = self._stage
        if self._waiting:
            line += "  " + safe(waiting_line(list(self._waiting.values())))
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
    if agenda.is_dir():
        raise UsageError(f"--agenda {clip(str(agenda))} is a folder; pass a file path")
    if not agenda.exists() and not agenda.parent.is_dir():
        raise UsageError(
            f"cannot write the agenda {clip(str(agenda))}: the folder "
            f"{clip(str(agenda.parent))} does not exist; create it or pass another --agenda"
        )
    with _store(create=True) as store:
        console.print(f"database ready: {safe(store.engine.url.render_as_string())}")
    if agenda.exists():
        console.print(f"agenda kept: {safe(agenda)} (already exists)")
        return
    try:
        agenda.write_text(QUICKSTART.read_text(encoding="utf-8"), encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot write the agenda {clip(str(agenda))}: {exc.strerror or exc}; "
            "pass another --agenda"
        ) from None
    console.print(f"agenda written: {safe(agenda)}; run it with `autoalign run {safe(agenda)}`")


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
    check_models(agenda.models, ROLES, budget=agenda.budget)
    with _store(create=True) as store:
        with Progress(*_bar_columns(), console=console, transient=False) as bar:
            summary = run_agenda_sync(
                agenda, store=store, progress=RichProgress(bar), new=new, takeover=takeover
            )
        _print_summary(summary)
    code = {"stopped": EXIT_STOPPED, "failed": EXIT_FAILED}.get(summary.run.status)
    if code is not None:
        raise typer.Exit(code)


def _print_summary(summary: RunSummary) -> None:
    run = summary.run
    if summary.already_completed:
        console.print(
            f"run {run.id} ({safe_line(run.name)}) of this agenda already completed; nothing to "
            "do (pass --new for a fresh run)"
        )
        return
    verb = "resumed" if summary.resumed else "ran"
    console.print(
        f"\n[bold]run {run.id}[/] ({safe_line(run.name)}) {verb}: status "
        f"[bold]{safe(run.status)}[/]"
    )
    if run.status != "completed":
        # The reason is why the command exits non-zero, so it goes where errors go.
        err.print(f"run {run.id} {safe_line(run.status)}: "
                  f"{safe_line(run.stop_reason or 'no reason recorded')}")
    table = Table(show_header=True, header_style="bold")
    table.add_column("stage")
    table.add_column("artifacts", justify="right")
    for stage, count in summary.artifacts_per_stage.items():
        table.add_row(safe(stage), str(count))
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
            f"paper: artifact {summary.paper_id}, status {safe(summary.paper_status)}; "
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
    from .experiments import run_study
    from .sandbox import Limits, LocalBackend, isolation_level
    from .testbeds import get_testbed, list_testbeds

    # Every argument is checked before the database is opened, so a typo creates nothing.
    if seeds < 2:
        raise UsageError(f"--seeds must be at least 2 for a standard error (got {seeds})")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {workers})")
    if not 0 <= first_seed <= MAX_SEED - seeds:
        raise UsageError(f"--first-seed must be from 0 to {MAX_SEED - seeds} (got {first_seed})")
    names = testbeds or [t.name for t in list_testbeds()]
    for name in names:
        get_testbed(name)
    with _store(create=True) as store, LocalBackend(workers=workers) as backend:
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
            table.add_row(safe(r.testbed), safe(r.question_id), str(r.n_seeds), f"{r.effect:+.3f}",
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
                str(r.id), safe(r.name[:24]), safe(r.status),
                str(len(store.artifacts(run_id=r.id))),
                f"{u.calls} ({u.cache_hits})"
                + (f", {u.unfinished_calls} unfinished" if u.unfinished_calls else ""),
                str(u.input_tokens + u.output_tokens), f"{u.cost_usd:.4f}",
            )
            if r.stop_reason:
                reasons.append(f"run {r.id}: {r.stop_reason}")
        console.print(table)
        for reason in reasons:
            console.print(safe_line(reason))
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
            table.add_row(str(r.id), safe(r.name), safe(r.status), str(r.seed),
                          f"{r.created_at:%Y-%m-%d %H:%M:%S}",
                          f"{r.finished_at:%Y-%m-%d %H:%M:%S}" if r.finished_at else "")
        console.print(table)


@show_app.command("papers")
def show_papers(run: RunFilter = None) -> None:
    """List papers with their status."""
    with _store() as store:
        table = Table(title="papers", header_style="bold")
        for col in ("id", "run", "status", "title"):
            table.add_column(col)
        for a in store.artifacts(run_id=run, kind="paper"):
            table.add_row(str(a.id), str(a.run_id), safe(a.status), safe(a.title or ""))
        console.print(table)


@show_app.command("artifacts")
def show_artifacts(
    run: RunFilter = None,
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
            table.add_row(str(a.id), str(a.run_id), safe(a.stage), safe(a.kind),
                          safe(a.role or ""), safe(a.status), safe(a.step_key or ""),
                          safe_line(preview))
        console.print(table)


@show_app.command("paper", context_settings=_NEGATIVE_IDS)
def show_paper(paper_id: IdArgument) -> None:
    """Print a paper top-down: abstract, introduction, main text, appendix, with their links."""
    number = _parse_id(paper_id, what="paper")
    with _store() as store:
        view = read_paper(store, number)
    p = view.paper
    console.print(f"[bold]{safe_line(p.title or '(untitled)')}[/]")
    console.print(f"paper {p.id} · run {p.run_id} · status {safe(p.status)}\n")
    for part in view.parts:
        a = part.artifact
        console.rule(f"{safe(part.name.replace('_', ' '))} · artifact {a.id}")
        console.print(safe(a.content_text))
        links = ", ".join(f"{link.relation} {link.artifact.kind} {link.artifact.id}"
                          for link in part.links)
        console.print(f"[dim]links: {safe_line(links)}[/]\n")
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


@show_app.command("artifact", context_settings=_NEGATIVE_IDS)
def show_artifact(artifact_id: IdArgument) -> None:
    """Print one artifact with its status history and provenance."""
    number = _parse_id(artifact_id, what="artifact")
    with _store() as store:
        a = store.artifact(number)
        history = store.status_history(a.id)
        parents = store.parents(a.id)
        children = store.descendants(a.id)
    console.print(f"[bold]artifact {a.id}[/] {safe(a.kind)} · stage {safe(a.stage)} · "
                  f"run {a.run_id}")
    console.print(f"role {safe(a.role or '-')} · model {safe(a.model or '-')} · step "
                  f"{safe(a.step_key or '-')} · prompt {safe(a.prompt_digest or '-')}")
    console.print("status: " + " → ".join(safe_line(e.status) for e in history))
    console.print("made from: " + (", ".join(safe_line(f"{e.relation} {e.parent_id}")
                                             for e in parents) or "nothing"))
    console.print(f"downstream artifacts: {len(children)}")
    console.rule()
    console.print(safe(a.content_text))


_register_calibration(app, _store)


def main() -> None:
    """Entry point: project errors become one line on stderr and exit code 1."""
    try:
        app()
    except AutoalignError as exc:
        err.print(f"[red]error:[/] {safe_line(exc)}")
        sys.exit(EXIT_ERROR)
