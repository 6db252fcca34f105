"""`autoalign run`: run an agenda (or re-run one stage of its latest run) with a progress view."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .._text import safe, safe_line
from ..errors import UsageError
from ..vocabulary import PIPELINE_STAGES, RunStatus
from ._common import (
    EXIT_FAILED,
    EXIT_STOPPED,
    DbOption,
    _State,
    bar_columns,
    console,
    err,
    open_store,
    real_console,
    use_db,
)

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from ..models import CallEvent
    from ..pipeline import RunSummary


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
        style = {"done": "green", "resumed": "cyan", "failed": "red", "skipped": "yellow"}.get(
            outcome, "white"
        )
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
    """`waiting 12s for openai:gpt-4o (critic-2, step writeup/critic-2/0)`, for the call that has
    waited longest, and how many more are waiting."""
    e = max(waiting, key=lambda event: event.waited_s)
    step = f", step {e.step_key}" if e.step_key else ""
    tries = f", attempt {e.attempt}/{e.max_attempts}" if e.attempt > 1 else ""
    more = f" (+{len(waiting) - 1} more)" if len(waiting) > 1 else ""
    return f"waiting {e.waited_s:.0f}s for {e.model} ({e.role}{step}{tries}){more}"


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
    stage: Annotated[
        str | None,
        typer.Option(
            "--stage", metavar="NAME",
            help=f"Re-run only this stage ({', '.join(PIPELINE_STAGES)}) of the agenda's latest "
            "completed run, from what the database holds, as a new round.",
        ),
    ] = None,
    rounds: Annotated[
        int,
        typer.Option(
            "--rounds", min=1, max=20, metavar="N",
            help="Run every stage N times, stage 4's findings (project seeds) feeding the next "
            "round's stage 1; resume an interrupted run with the same --rounds.",
        ),
    ] = 1,
    rereview: Annotated[
        int | None,
        typer.Option(
            "--rereview", min=0, max=1000, metavar="K",
            help="After the run, re-review K accepted papers (and those open requests name) "
            "with the current critics, as `autoalign rereview --sample K` does.",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Run an agenda through propose → execute → write up (with critic #2's review) → across
    papers (stage 4, when the agenda's `crosscheck` section enables it).

    Re-running the same agenda resumes its unfinished run: finished steps are kept and model
    answers are served from the cache. With --stage, only that stage runs again; an
    interrupted stage re-run resumes when given the same --stage.
    """
    from rich.progress import Progress

    from ..agenda import load_agenda
    from ..models import check_models
    from ..pipeline import ROLES, check_catalogs, run_agenda_sync

    use_db(db)
    if stage is not None and new:
        raise UsageError("--stage re-runs a stage of the latest run; it cannot be used with --new")
    if stage is not None and rounds > 1:
        raise UsageError("--stage re-runs one stage once; it cannot be used with --rounds")
    agenda = load_agenda(agenda_path)
    check_models(agenda.models, ROLES, budget=agenda.budget)
    check_catalogs(agenda)  # before the database is created, like the models
    with open_store(create=True) as store:
        with Progress(*bar_columns(), console=real_console(console), transient=False) as bar:
            summary = run_agenda_sync(
                agenda, store=store, progress=RichProgress(bar), new=new, takeover=takeover,
                stage=stage, rounds=rounds,
            )
        _print_summary(summary)
        if rereview is not None and summary.run.status == RunStatus.COMPLETED:
            from ..pipeline import rereview_sync
            from ._rereview import print_report

            print_report(rereview_sync(store, sample=rereview, seed=agenda.run.seed,
                                       agenda=agenda))
        from ._case import print_case_changes

        print_case_changes(store, console)  # the registered safety cases, re-evaluated
        from ._learn_checks import after_run  # issue 14, part CK: load-bearing papers

        after_run(store, agenda.learning, run_id=summary.run.id)
    code = {RunStatus.STOPPED: EXIT_STOPPED, RunStatus.FAILED: EXIT_FAILED}.get(
        RunStatus(summary.run.status)
    )
    if code is not None:
        raise typer.Exit(code)


def _print_summary(summary: RunSummary) -> None:
    from rich.table import Table

    run = summary.run
    if summary.already_completed:
        console.print(
            f"run {run.id} ({safe_line(run.name)}) of this agenda already completed; nothing to "
            "do (pass --new for a fresh run)"
        )
        return
    verb = "resumed" if summary.resumed else "ran"
    if summary.stage_round is not None:
        verb += f" (stage re-run, round {summary.stage_round})"
    console.print(
        f"\n[bold]run {run.id}[/] ({safe_line(run.name)}) {verb}: status "
        f"[bold]{safe(run.status)}[/]"
    )
    if run.status != RunStatus.COMPLETED:
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
    console.print(serve_hint(f"/runs/{run.id}"))


def serve_hint(path: str) -> str:
    """How to open the web app on this command's database at `path` (the last line a run
    prints)."""
    from ..store._engine import safe_url

    db = f" --db {safe_url(_State.db)}" if _State.db else ""
    return safe_line(
        f"browse it, its papers and the review queue: `autoalign serve{db}` (the `web` extra: "
        f"pip install -e '.[web]'), then open http://127.0.0.1:8000{path}"
    )


def register(app: typer.Typer) -> None:
    """Add `run` to `app`."""
    app.command()(run)
