"""`autoalign submit` and `autoalign worker`: queue runs, and run queued work on any host."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from .._text import safe_line
from ..errors import UsageError
from ..vocabulary import WorkKind
from ._common import DbOption, console, err, open_store, use_db

_KINDS = ", ".join(kind.value for kind in WorkKind)


def submit(
    agenda_path: Annotated[Path, typer.Argument(metavar="AGENDA", help="Agenda TOML file.")],
    new: Annotated[
        bool, typer.Option("--new", help="Queue a fresh run even if one exists for this agenda.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Queue an agenda's run for `autoalign worker` processes sharing this database.

    Like `autoalign run`, it resumes the agenda's unfinished run (queued again) unless --new;
    a completed run is reported and nothing is queued. Submitting twice queues the run once.
    """
    from ..agenda import load_agenda
    from ..cluster import submit_agenda

    use_db(db)
    agenda = load_agenda(agenda_path)
    with open_store(create=True) as store:
        submitted = submit_agenda(agenda, store=store, new=new)
    run = submitted.run
    if submitted.item is None:
        console.print(f"run {run.id} ({safe_line(run.name)}) of this agenda already completed; "
                      "nothing queued (pass --new for a fresh run)")
        return
    what = "new run" if submitted.outcome == "created" else f"{run.status} run"
    console.print(
        f"{what} {run.id} ({safe_line(run.name)}) is work item {submitted.item.id} "
        f"({submitted.item.state}); `autoalign worker` on any host with this database runs it"
    )


def worker(
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=256, help="Items run at once.")
    ] = 1,
    kinds: Annotated[
        str, typer.Option("--kinds", metavar="KINDS", help=f"Comma-separated kinds to run "
                          f"({_KINDS}).")
    ] = _KINDS.replace(" ", ""),
    once: Annotated[
        bool, typer.Option("--once", help="Run at most one item, then exit.")
    ] = False,
    idle_exit: Annotated[
        float | None,
        typer.Option("--idle-exit", metavar="SECONDS", min=0,
                     help="Exit once nothing was running or ready for SECONDS."),
    ] = None,
    lease: Annotated[
        float,
        typer.Option("--lease", metavar="SECONDS", min=1,
                     help="Seconds a claim lasts without a heartbeat: another worker takes "
                     "over a dead worker's item after this."),
    ] = 30.0,
    poll: Annotated[
        float,
        typer.Option("--poll", metavar="SECONDS", min=0.01,
                     help="Seconds an idle worker waits before looking at the queue again."),
    ] = 1.0,
    db: DbOption = None,
) -> None:
    """Claim and run queued work (runs from `autoalign submit`, sandbox jobs) until stopped.

    Prints one line per item. SIGTERM or Ctrl-C stops it cleanly: running items are given back
    to the queue at once, and another worker resumes them.
    """
    from ..cluster import ItemEvent, Worker, run_worker_sync

    use_db(db)
    chosen = _parse_kinds(kinds)

    def report(event: ItemEvent) -> None:
        style = {"done": "green", "failed": "red", "released": "yellow", "lost": "yellow"}[
            event.outcome
        ]
        line = (f"[{style}]{event.outcome:>8}[/] {safe_line(event.what)} in "
                f"{event.seconds:.1f}s: {safe_line(event.detail)}")
        (err if event.outcome == "failed" else console).print(line)

    with open_store(create=True) as store:
        work = Worker(store, kinds=chosen, concurrency=concurrency, lease_s=lease, poll_s=poll,
                      once=once, idle_exit_s=idle_exit, on_item=report)
        console.print(f"worker {work.owner}: {work.concurrency} at once, kinds "
                      f"{','.join(chosen)}, lease {lease:g}s")
        stats = run_worker_sync(work, stop_signals=(signal.SIGTERM, signal.SIGINT))
    console.print(f"worker {work.owner} stopped: {stats.done} done, {stats.failed} failed, "
                  f"{stats.released} released, {stats.lost} lost")


def _parse_kinds(text: str) -> list[WorkKind]:
    chosen: list[WorkKind] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            kind = WorkKind(part)
        except ValueError:
            raise UsageError(
                f"--kinds: unknown kind {safe_line(part)!r}; use a comma-separated list of "
                f"{_KINDS}"
            ) from None
        if kind not in chosen:
            chosen.append(kind)
    if not chosen:
        raise UsageError(f"--kinds is empty; name at least one of {_KINDS}")
    return chosen


def register(app: typer.Typer) -> None:
    """Add `submit` and `worker` to `app`."""
    app.command()(submit)
    app.command()(worker)
