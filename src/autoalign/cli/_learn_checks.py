"""`autoalign learn checks`: schedule retroactive deeper reviews of load-bearing papers, and
what the end of `autoalign run` prints about expensive checks. Thin: it calls
`autoalign.learning.schedule_load_bearing` and prints."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .._text import safe
from ..errors import UsageError
from ._common import DbOption, console, open_store, use_db
from ._learn import learn_group

if TYPE_CHECKING:
    from rich.console import Console

    from ..agenda import LearningSection
    from ..learning import Share
    from ..store import LearningCheckRecord, Store

RUN_HINT = "`autoalign rereview --sample 0` performs them"


def print_scheduled(
    records: list[LearningCheckRecord], settings: LearningSection, out: Console, *,
    quiet: bool = False,
) -> None:
    """One line per scheduled deeper review, then the papers skipped for budget. With
    `quiet`, nothing when nothing was decided (the end of a run)."""
    from ..vocabulary import CheckOutcome

    scheduled = [r for r in records if r.outcome == CheckOutcome.SCHEDULED]
    skipped = [r for r in records if r.outcome == CheckOutcome.SKIPPED_BUDGET]
    if not records:
        if not quiet:
            out.print("deep reviews are off (deep_reviews = 0 in the agenda's learning section)"
                      if settings.deep_reviews == 0
                      else "no load-bearing paper without a deeper review scheduled "
                      f"(load_bearing_descendants {settings.load_bearing_descendants}, "
                      f"case_evidence {'on' if settings.case_evidence else 'off'})")
        return
    for r in scheduled:
        out.print(f"deep review of paper {r.paper_id} scheduled (re-review request "
                  f"{r.request_artifact_id}, trigger {r.trigger}): {safe(r.reason)}")
    if skipped:
        out.print(f"[yellow]{len(skipped)} load-bearing paper(s) not scheduled: the "
                  f"deep_reviews budget ({settings.deep_reviews}) is spent[/] (recorded: "
                  + ", ".join(f"paper {r.paper_id}" for r in skipped) + ")")
    if scheduled:
        out.print(RUN_HINT)


def print_confused(store: Store, out: Console, *, run_id: int | None = None) -> None:
    """A line on the confused-critic escalations recorded (of `run_id`, else of every run),
    by outcome; nothing when there is none."""
    from ..vocabulary import CheckKind, CheckOutcome

    rows = store.learning_checks(kind=CheckKind.HUMAN_ESCALATION, run_id=run_id)
    if not rows:
        return
    by = Counter(r.outcome for r in rows)
    line = (f"confused critic #2 on {len(rows)} paper(s)"
            + (f" in run {run_id}" if run_id is not None else "") + ": "
            f"{by[CheckOutcome.ESCALATED]} sent to the human queue, "
            f"{by[CheckOutcome.ALREADY_OPEN]} already had an open request, "
            f"{by[CheckOutcome.SKIPPED_BUDGET]} not sent (human_escalations budget spent)")
    out.print(f"[yellow]{line}[/]" if by[CheckOutcome.SKIPPED_BUDGET] else line)


def _share(share: Share) -> str:
    if share.interval is None:
        return "n=0"
    i = share.interval
    return (f"{share.k}/{share.n} = {share.k / share.n:.0%}, {i.level:.0%} Wilson interval "
            f"[{i.low:.2f}, {i.high:.2f}]")


def print_yield(store: Store, out: Console) -> None:
    """Whether the checks found anything: performed deeper reviews that changed something, and
    confused-critic requests a human confirmed, each as k/n with an interval."""
    from ..learning import check_yield

    y = check_yield(store)
    out.print(f"deeper reviews: {y.deep_scheduled} scheduled, {y.deep_changed.n} performed; "
              f"changed the decision or found new flaws: {_share(y.deep_changed)}")
    out.print(f"confused-critic escalations: {y.escalated} sent; confirmed by the human "
              f"among those resolved: {_share(y.escalation_confirmed)}")


def after_run(store: Store, settings: LearningSection, *, run_id: int) -> None:
    """What `autoalign run` does last: schedule the deeper reviews load-bearing papers need and
    print one line per scheduled review, and the run's confused-critic escalations."""
    from ..learning import schedule_load_bearing

    print_scheduled(schedule_load_bearing(store, settings, run_id=run_id), settings, console,
                    quiet=True)
    print_confused(store, console, run_id=run_id)


def _latest_settings(store: Store) -> LearningSection:
    """The `[learning]` section of the latest run that recorded an agenda.

    Raises:
        UsageError: no run did.
    """
    from pydantic import ValidationError

    from ..agenda import Agenda

    for run in reversed(store.list_runs()):
        try:
            return Agenda.model_validate(run.config).learning
        except ValidationError:
            continue
    raise UsageError("no run in this database recorded an agenda to read [learning] from; "
                     "pass --agenda AGENDA")


def checks(
    agenda_path: Annotated[
        Path | None,
        typer.Option("--agenda", metavar="AGENDA",
                     help="Read the learning section of this agenda (default: the latest "
                     "run's)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Schedule retroactive deeper reviews of load-bearing accepted papers (many descendants,
    or evidence of a registered safety case), within the agenda's `deep_reviews` budget, and
    record each decision. Prints one line per scheduled review, the papers skipped for budget,
    the confused-critic escalations recorded so far, and what both checks found (k/n with a
    Wilson interval); `autoalign rereview` performs the reviews."""
    from ..agenda import load_agenda
    from ..learning import schedule_load_bearing

    use_db(db)
    agenda = load_agenda(agenda_path) if agenda_path is not None else None
    with open_store(writable=True) as store:
        settings = agenda.learning if agenda is not None else _latest_settings(store)
        print_scheduled(schedule_load_bearing(store, settings), settings, console)
        print_confused(store, console)
        print_yield(store, console)


def register(app: typer.Typer) -> None:
    """Add `learn checks` to `app`."""
    learn_group(app).command("checks")(checks)


__all__ = ["after_run", "print_confused", "print_scheduled", "print_yield", "register"]
