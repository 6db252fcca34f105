"""`autoalign case ...`: safety cases bound to live evidence (`docs/safety-case.md`).

Thin: it reads the case file and its inputs, calls `autoalign.case`, and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .._text import safe
from ..errors import UsageError

CASE_HELP = (
    "Safety cases: GSN arguments (gsn2x YAML with x-evidence bindings) whose evidence is read "
    "from the research database and red-team reports; check, evaluate, render, follow over time."
)

CaseFileArgument = Annotated[
    Path, typer.Argument(metavar="FILE", help="The case file (gsn2x YAML with x- keys).",
                         show_default=False)
]


def _loaded(path: Path, console: Console) -> object:
    from ..case import load_case

    try:
        loaded = load_case(path)
    except OSError as exc:
        raise UsageError(f"cannot read the case file {path}: {exc.strerror or exc}") from exc
    for problem in loaded.problems:
        colour = "red" if problem.severity == "error" else "yellow"
        console.print(f"[{colour}]{safe(str(problem))}[/]")
    if not loaded.ok:
        errors = sum(p.severity == "error" for p in loaded.problems)
        raise UsageError(f"{path}: {errors} error(s) in the case file; fix them and check again")
    return loaded


def register(app: typer.Typer, *, console: Console | None = None) -> None:
    """Add the `case` command group to `app`."""
    out = console or Console(highlight=False, soft_wrap=True)
    group = typer.Typer(help=CASE_HELP, no_args_is_help=True, add_completion=False,
                        pretty_exceptions_enable=False)
    app.add_typer(group, name="case")

    @group.command("check")
    def check(file: CaseFileArgument) -> None:
        """Check a case file's well-formedness (gsn2x's rules and autoalign's): every problem
        with its element id and line; exits 1 on an error."""
        _loaded(file, out)
        out.print(f"{safe(str(file))}: ok")


__all__ = ["CASE_HELP", "register"]
