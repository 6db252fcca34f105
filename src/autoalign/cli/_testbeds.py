"""`autoalign testbeds ...`: list the testbeds, show one, compute its ground truth. Thin: it calls
`autoalign.testbeds` and prints."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from .._text import safe

if TYPE_CHECKING:
    from rich.console import Console, JustifyMethod

    from ..testbeds import Question

testbeds_app = typer.Typer(
    rich_markup_mode=None,
    help="Small CPU experiments with known ground truth: list them, show one, compute the true "
    "answers to its research questions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _console() -> Console:
    # Made per command, so the width follows the terminal (or $COLUMNS) of that invocation.
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


NameArg = Annotated[str, typer.Argument(metavar="NAME", help="Testbed name (see `list`).")]


@testbeds_app.command("list")
def list_command() -> None:
    """List the testbeds: name, version, what runs, number of research questions."""
    from rich.table import Table

    from ..testbeds import list_testbeds

    table = Table(header_style="bold")
    for col in ("name", "version", "description", "questions"):
        table.add_column(col, overflow="fold")
    for tb in list_testbeds():
        table.add_row(safe(tb.name), safe(tb.version), safe(_first_line(tb.description)),
                      str(len(tb.questions)))
    _console().print(table)


@testbeds_app.command("show")
def show_command(name: NameArg) -> None:
    """Show a testbed's knobs, interventions, metrics, research questions and analogy."""
    from rich.table import Table

    from ..testbeds import get_testbed

    tb = get_testbed(name)
    console = _console()
    console.print(f"[bold]{safe(tb.name)}[/] version {safe(tb.version)}")
    console.print(safe(tb.description))
    console.print(f"\n[bold]analogy[/]: {safe(tb.analogy)}\n")

    knobs = Table(title="knobs", header_style="bold", title_justify="left")
    for col in ("knob", "type", "default", "doc"):
        knobs.add_column(col, overflow="fold")
    for k in tb.knobs:
        knobs.add_row(safe(k.name), safe(k.type_text), safe(_value(k.default)),
                      safe(k.doc))
    console.print(knobs)

    interventions = Table(title="interventions", header_style="bold", title_justify="left")
    interventions.add_column("intervention")
    interventions.add_column("what changes", overflow="fold")
    for i in tb.interventions:
        interventions.add_row(safe(i.name), safe(i.doc))
    console.print(interventions)

    metrics = Table(title="metrics", header_style="bold", title_justify="left")
    for col in ("metric", "better", "doc"):
        metrics.add_column(col, overflow="fold")
    for m in tb.metrics:
        metrics.add_row(safe(m.name), "higher" if m.higher_is_better else "lower",
                        safe(m.doc))
    console.print(metrics)

    questions = Table(title="research questions", header_style="bold", title_justify="left")
    for col in ("id", "question", "arms", "yes when"):
        questions.add_column(col, overflow="fold")
    for q in tb.questions:
        arms = f"{q.intervention} vs {q.comparison_text}"
        if q.config:
            arms += " at " + ", ".join(f"{k}={_value(v)}" for k, v in q.config.items())
        questions.add_row(safe(q.id), safe(q.text), safe(arms), safe(_yes_when(q)))
    console.print(questions)


@testbeds_app.command("truth")
def truth_command(
    name: NameArg,
    seeds: Annotated[
        int, typer.Option(min=2, help="Seeds per arm (the same seeds in every arm).")
    ] = 300,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Processes to use; 1 runs in this process.",
                     show_default="one per CPU"),
    ] = None,
) -> None:
    """Compute (or read from the cache) the true effect and answer of each research question."""
    from rich.table import Table

    from ..testbeds import get_testbed, ground_truth, truth_cache_path

    tb = get_testbed(name)
    console = _console()
    started = time.perf_counter()
    truths = ground_truth(tb.name, seeds=seeds, workers=workers)
    seconds = time.perf_counter() - started
    questions = {q.id: q for q in tb.questions}

    table = Table(title=f"ground truth of {safe(tb.name)} v{safe(tb.version)}",
                  header_style="bold", title_justify="left")
    columns: list[tuple[str, JustifyMethod]] = [
        ("question", "left"), ("metric", "left"), ("effect ± SE", "right"), ("yes when", "left"),
        ("answer", "left"), ("n", "right"), ("comparison → treated", "right"),
    ]
    for col, justify in columns:
        table.add_column(col, justify=justify, overflow="fold")
    for t in truths:
        q = questions[t.question_id]
        table.add_row(
            safe(t.question_id), safe(t.metric), f"{t.effect:+.4f} ± {t.se:.4f}",
            safe(_yes_when(q)), "[green]yes[/]" if t.answer else "[red]no[/]",
            str(t.n_seeds), f"{t.baseline_mean:.3f} → {t.treated_mean:.3f}",
        )
    console.print(table)
    path = truth_cache_path(tb.name, seeds=seeds)
    if truths and all(t.from_cache for t in truths):
        console.print(f"read from cache {safe(str(path))} in {seconds:.2f}s")
    else:
        console.print(f"computed in {seconds:.1f}s; cached at {safe(str(path))}")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _yes_when(q: Question) -> str:
    sign = ">=" if q.direction == "at_least" else "<="
    what = "difference" if q.effect_kind == "difference" else "relative change"
    return f"{what} {sign} {q.threshold:+g}" if q.threshold else f"{what} {sign} 0"


def register(app: typer.Typer) -> None:
    """Add the `testbeds` group to `app`."""
    app.add_typer(testbeds_app, name="testbeds")
