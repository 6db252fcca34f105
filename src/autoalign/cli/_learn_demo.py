"""`autoalign learn demo`: the loop from labels back into critics, offline, in one command.

It runs, on one database, what the separate commands run (each resumes, so a killed demo
continues): model organisms of slop (scripted, no key), label collection and the recalibration
of every critic with enough labelled probabilities (applied or rejected on held-out log loss),
a learning curve, and A/B tests (a programmatic critic and, unless `--no-llm`, an LLM critic on
the embedded model, each shown logs whole or as the summaries erasure keeps).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .._text import safe
from ._common import DbOption, lazy_console, open_store, use_db
from ._learn import learn_group

console = lazy_console(highlight=False, soft_wrap=True)


def demo_command(
    out: Annotated[Path, typer.Option(
        "--out", metavar="DIR", help="Folder for the curve's and the A/B tests' files.")
    ] = Path("learning-demo"),
    organisms: Annotated[Path, typer.Option(
        help="Organisms config (an [organisms] section).")] = Path("examples/organisms.toml"),
    projects: Annotated[int, typer.Option(
        min=1, max=1000, help="Projects per organism (overrides the config's).")] = 6,
    curve: Annotated[Path, typer.Option(
        help="Learning-curve config.")] = Path("examples/learning-curve.toml"),
    ab: Annotated[list[Path] | None, typer.Option(
        help="A/B configs to run and report (repeatable).")] = None,
    llm: Annotated[bool, typer.Option(
        "--llm/--no-llm", help="Also run examples/ab-summary-llm.toml (the embedded model; "
        "minutes to hours on a CPU).")] = True,
    min_labels: Annotated[int, typer.Option(
        "--min-labels", min=2,
        help="Labels with a stated probability a critic needs to be recalibrated.")] = 40,
    db: DbOption = None,
) -> None:
    """Offline, the whole learning loop on one database: model organisms write papers (their
    critic-2 reviews state probabilities); labels are collected; every critic with at least
    --min-labels labelled probabilities is recalibrated (Platt and isotonic, applied only when
    held-out log loss falls, otherwise rejected: either way a critic version); a learning curve
    runs; the A/B tests run and are reported. Prints each part as its own command does and
    writes DIR/curve (curve.json, curve.md, curve.png) and DIR/ab-<name> (the A/B reports)."""
    import asyncio

    from ..learning import (
        build_ab_report,
        collect_labels,
        load_ab_config,
        recalibrate,
        recalibration_critics,
        write_ab_report,
    )
    from ..redteam import load_organisms_config, run_batch
    from . import _ab, _learn_curve  # the commands' own printing
    from ._learn_labels import print_decision

    configs = list(ab) if ab else [Path("examples/ab-summary.toml")]
    if llm:
        configs.append(Path("examples/ab-summary-llm.toml"))
    for path in [organisms, curve, *configs]:
        if not path.is_file():
            raise typer.BadParameter(f"{path} is not a file (run from the project's folder or "
                                     "give the config's path)")
    settings = load_organisms_config(organisms).model_copy(update={"projects": projects})
    use_db(db)

    console.rule("1. model organisms")
    with open_store(create=True) as store:
        runs = asyncio.run(run_batch(
            store, settings.organism, seed=settings.seed, projects=settings.projects,
            question=settings.question, roles=settings.roles,
        ))
        done = sum(1 for r in runs if r.status == "completed")
        console.print(f"{len(runs)} organism project(s), {done} completed")

        console.rule("2. labels and recalibration")
        got = collect_labels(store)
        console.print(f"labels added: {got.added}; labels in the table: n={got.total} "
                      f"(by kind: {safe(str(got.by_kind)) if got.by_kind else 'none new'})")
        critics = recalibration_critics(store, min_labels=min_labels)
        if not critics:
            console.print(f"no critic has {min_labels} labels with a stated probability: "
                          "nothing to recalibrate (give more --projects)")
        for critic in critics:
            print_decision(console, recalibrate(store, critic, min_labels=min_labels))

    console.rule("3. learning curve")
    _learn_curve.curve_command(curve, out=out / "curve", db=None)

    for path in configs:
        console.rule(f"4. A/B test {safe(str(path))}")
        _ab.run_command(path, quiet=True, db=None)
        name = load_ab_config(path).name
        with open_store() as store:
            report = build_ab_report(store, name)
        written = write_ab_report(report, out / f"ab-{name}")
        console.print(f"wrote {', '.join(safe(str(p)) for p in written)}")


def register(app: typer.Typer) -> None:
    """Add `learn demo` to `app`."""
    learn_group(app).command("demo")(demo_command)


__all__ = ["demo_command", "register"]
