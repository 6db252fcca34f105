"""`autoalign study`: answer testbed questions by sandboxed experiments and record the claims."""

from __future__ import annotations

import contextlib
from typing import Annotated, Literal

import typer

from .._text import safe
from ..errors import UsageError
from ._common import DbOption, bar_columns, console, open_store, real_console, use_db


def study(
    testbeds: Annotated[
        list[str] | None, typer.Argument(help="Testbeds to study (default: every testbed).")
    ] = None,
    seeds: Annotated[int, typer.Option(help="Paired seeds per arm (at least 2).")] = 5,
    first_seed: Annotated[int, typer.Option(help="First seed of the experiments.")] = 0,
    workers: Annotated[
        int | None,
        typer.Option(help="Sandboxed runs at once (default: one per core, or per Ray CPU)."),
    ] = None,
    backend: Annotated[
        Literal["local", "ray"],
        typer.Option(help="Where the sandboxed runs happen: this machine, or a Ray cluster."),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to join with --backend ray (auto, host:port, ray://host:port); "
            "default: start a local Ray instance."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Answer every testbed question by a small sandboxed experiment and record the claims.

    Each claim carries the effect estimate, its 95% interval and the probability that the
    question's answer is yes; `autoalign calibration` scores them against ground truth.
    """
    from rich.progress import Progress
    from rich.table import Table

    from ..agenda import MAX_SEED
    from ..experiments import run_study
    from ..sandbox import Limits, isolation_level, make_backend
    from ..testbeds import get_testbed, list_testbeds

    use_db(db)
    # Every argument is checked before the database is opened, so a typo creates nothing.
    if seeds < 2:
        raise UsageError(f"--seeds must be at least 2 for a standard error (got {seeds})")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {workers})")
    if not 0 <= first_seed <= MAX_SEED - seeds:
        raise UsageError(f"--first-seed must be from 0 to {MAX_SEED - seeds} (got {first_seed})")
    if ray_address is not None and backend != "ray":
        raise UsageError(f"--ray-address {ray_address!r} needs --backend ray")
    names = testbeds or [t.name for t in list_testbeds()]
    for name in names:
        get_testbed(name)
    pool = make_backend(backend, workers=workers, ray_address=ray_address)
    with open_store(create=True) as store, contextlib.closing(pool):
        total = sum(len(t.questions) for t in list_testbeds() if t.name in names)
        if backend == "local":
            console.print(f"sandbox isolation: {isolation_level()}")
        else:
            console.print(
                f"sandbox: Ray ({safe(ray_address or 'a local instance')}); each node runs at "
                "its strongest isolation, and each record says which"
            )
        with Progress(*bar_columns(), console=real_console(console)) as bar:
            task = bar.add_task("study", total=total)
            done = run_study(
                store, testbeds=names, seeds=seeds, first_seed=first_seed, backend=pool,
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


def register(app: typer.Typer) -> None:
    """Add `study` to `app`."""
    app.command()(study)
