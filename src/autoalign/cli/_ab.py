"""`autoalign ab run CONFIG` and `autoalign ab report [NAME]`: A/B tests of components (two
critic variants on the same red-team tasks, paired). Thin: it calls `autoalign.learning` and
prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .._text import safe
from ._common import DbOption, bar_columns, console, err, open_store, real_console, use_db

if TYPE_CHECKING:
    from ..learning import AbRunSummary

AB_HELP = (
    "A/B tests of components: two variants (a critic, its settings, models or view of the "
    "subject) run on the same tasks with paired randomisation, compared with paired tests."
)


def _print(summary: AbRunSummary) -> None:
    console.print(
        f"[bold]A/B experiment {safe(summary.name)}[/] (id {summary.experiment_id}): "
        f"{safe(summary.status)}, {summary.finished} of {summary.tasks} task(s) finished, "
        f"{summary.outcomes_written} new outcome(s)"
    )
    if summary.critic_errors:
        console.print(f"  [yellow]{summary.critic_errors} critic check(s) failed[/] (stored as "
                      "flagging nothing, with the error)")
    d = summary.difference
    for arm, critic in summary.critics.items():
        if d is None:
            console.print(f"  arm {arm} {safe(critic)}: no finished task")
            continue
        correct, ci = ((d.both + d.a_only, d.a_rate) if arm == "A"
                       else (d.both + d.b_only, d.b_rate))
        console.print(f"  arm {arm} {safe(critic)}: correct {correct}/{d.n} "
                      f"(Wilson 95% [{ci.low:.2f}, {ci.high:.2f}])")
    if d is not None:
        console.print(
            f"  B - A = {d.difference:+.3f} (Newcombe 95% [{d.interval.low:+.3f}, "
            f"{d.interval.high:+.3f}]), n = {d.n}; discordant {d.a_only} only A, {d.b_only} "
            f"only B; McNemar exact p = {d.mcnemar_p:.4g}"
        )
    s = summary.sequential
    if s is not None:
        state = f"stopped after task {s.stopped_after}" if s.stopped else "did not stop"
        console.print(f"  sequential test (mixture SPRT, alpha {s.alpha:g}): {state}; "
                      f"likelihood ratio {s.likelihood_ratio:.3g}")


def run_command(
    config: Annotated[
        Path, typer.Argument(help="The experiment's TOML config (see examples/ab.toml).",
                             show_default=False)
    ],
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    db: DbOption = None,
) -> None:
    """Run (or resume) an A/B test: make the tasks (clean controls and tampered copies with
    known flaws), run each under arms A and B in a seeded random order with the task's seed,
    and store one outcome per task and arm. Re-running the same config resumes it and repeats
    nothing; with `sequential = true` it stops once the mixture SPRT rejects. Prints a line per
    arm (correct / n with a Wilson 95% interval), then B - A with Newcombe's paired interval,
    the discordant counts and McNemar's exact p."""
    from rich.progress import Progress, TaskID

    from ..learning import load_ab_config, run_ab_sync
    from ..learning._ab_run import ARMS, model_roles
    from ..models import check_models

    parsed = load_ab_config(config)  # a bad config is one error line; nothing is written
    for arm in ARMS:
        check_models(parsed.arm_models(arm), model_roles(parsed, arm))
    use_db(db)
    with open_store(create=True) as store:
        if quiet:
            summary = run_ab_sync(store, parsed)
        else:
            with Progress(*bar_columns(), console=real_console(err), transient=True) as bar:
                task: list[TaskID] = []

                def on_task(done: int, total: int, _key: str) -> None:
                    if not task:
                        task.append(bar.add_task("tasks", total=total))
                    bar.update(task[0], completed=done, total=total)

                summary = run_ab_sync(store, parsed, on_task=on_task)
        _print(summary)


def report_command(
    name: Annotated[
        str | None, typer.Argument(metavar="[NAME]", show_default=False,
                                   help="The experiment (default: the latest).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    out: Annotated[
        Path | None, typer.Option(help="Also write ab-report.json, ab-report.md and the figure "
                                  "of the correct rate per flaw type and arm into this folder.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Report an A/B experiment: per arm the correct rate with n and a Wilson interval, B - A
    with Newcombe's paired interval, the discordant counts and McNemar's exact test, the same
    per flaw type, the paired Brier difference (bootstrap interval, Wilcoxon test) where both
    arms stated probabilities, and the sequential test's stop. Prints Markdown, or JSON with
    --json."""
    from ..errors import DataError
    from ..learning import ab_markdown, build_ab_report, write_ab_report

    use_db(db)
    with open_store() as store:
        if name is None:
            found = store.ab_experiments()
            if not found:
                raise DataError("no A/B experiment in this database; run `autoalign ab run "
                                "CONFIG` first")
            name = found[-1].name
        report = build_ab_report(store, name)
    if out is not None:
        for path in write_ab_report(report, out):
            err.print(f"wrote {safe(path)}")
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        typer.echo(ab_markdown(report))


def register(app: typer.Typer) -> None:
    """Add the `ab` group (`run`, `report`) to `app`."""
    group = typer.Typer(help=AB_HELP, no_args_is_help=True, add_completion=False,
                        pretty_exceptions_enable=False, rich_markup_mode=None)
    group.command("run")(run_command)
    group.command("report")(report_command)
    app.add_typer(group, name="ab")


__all__ = ["AB_HELP", "register"]
