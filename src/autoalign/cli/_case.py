"""`autoalign case ...`: safety cases bound to live evidence (`docs/safety-case.md`).

Thin: it reads the case file and its inputs, calls `autoalign.case`, and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from .._text import safe
from ..errors import UsageError
from ._common import DbOption, open_store, use_db

if TYPE_CHECKING:
    from ..case import Evaluation, Loaded, Sources
    from ..store import Store

CASE_HELP = (
    "Safety cases: GSN arguments (gsn2x YAML with x-evidence bindings) whose evidence is read "
    "from the research database and red-team reports; check, evaluate, render, follow over time."
)

CaseFileArgument = Annotated[
    Path, typer.Argument(metavar="FILE", help="The case file (gsn2x YAML with x- keys).",
                         show_default=False)
]


STATUS_STYLE = {
    "supported": "green", "defeated": "bold red", "undecided": "yellow", "stale": "magenta",
}
"""How each node status is shown in the terminal."""

RedteamOption = Annotated[
    Path | None,
    typer.Option("--redteam", metavar="REPORT.json",
                 help="A red-team report JSON (`autoalign redteam report`) for redteam: paths."),
]
NoDbOption = Annotated[
    bool, typer.Option("--no-db", help="Read no database (db: paths are then undecided).")
]


def _loaded(path: Path, console: Console) -> Loaded:
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

    @group.command("evaluate")
    def evaluate_cmd(
        file: CaseFileArgument,
        redteam: RedteamOption = None,
        db: DbOption = None,
        no_db: NoDbOption = False,
    ) -> None:
        """Evaluate a case: every solution's metric (from the database or the red-team report)
        against its threshold, statuses and confidence propagated up; prints the tree with each
        node's status, figures (estimate, interval, n, method) and reason."""
        use_db(db)
        loaded = _loaded(file, out)
        store = None if no_db else open_store()
        try:
            evaluation = _evaluate(file, loaded, store, redteam)
        finally:
            if store is not None:
                store.close()
        print_tree(evaluation, out)


    @group.command("new")
    def new(
        template: Annotated[str, typer.Argument(
            metavar="TEMPLATE", help="pipeline-a, known-structure or critics.",
            show_default=False)],
        out_file: Annotated[Path | None, typer.Option(
            "--out", metavar="FILE", help="Write the case here (default: print it).")] = None,
        redteam: RedteamOption = None,
    ) -> None:
        """Write a case from a template: the pipeline-A calibration case (claims a, b, c),
        the known-structure case (S, s, A1..Ai, M1..Mi) or the several-independent-critics
        argument; with --redteam, filled with that report's critics, critic sets and
        organisms."""
        from ..case import Bindings, bindings_from_report, render_template

        bindings = Bindings()
        if redteam is not None:
            from ..case import Sources

            report = Sources.with_report_file(redteam).report
            assert report is not None
            bindings = bindings_from_report(report)
        text = render_template(template, bindings)
        if out_file is None:
            out.print(safe(text), end="")
            return
        if out_file.exists():
            raise UsageError(f"{out_file} exists; pass another --out or move it away")
        out_file.write_text(text, encoding="utf-8")
        out.print(f"wrote {safe(str(out_file))} (template {safe(template)}); "
                  f"`autoalign case evaluate {safe(str(out_file))}` evaluates it")


def _sources(store: Store | None, redteam: Path | None) -> Sources:
    from ..case import Sources

    if redteam is not None:
        return Sources.with_report_file(redteam, store=store)
    return Sources(store=store)


def _evaluate(file: Path, loaded: Loaded, store: Store | None,
              redteam: Path | None) -> Evaluation:
    from ..case import case_digest, evaluate

    assert loaded.case is not None
    text = file.read_text(encoding="utf-8")
    return evaluate(loaded.case, _sources(store, redteam), name=file.stem,
                    digest=case_digest(text))


def print_tree(evaluation: Evaluation, console: Console) -> None:
    """The evaluated tree: one line per node (status coloured), its figures and reason below."""
    from ..case import tree_lines

    for depth, node, detail in tree_lines(evaluation):
        pad = "  " * depth
        style = STATUS_STYLE.get(node.status, "")
        conf = "" if node.confidence is None else f" conf {node.confidence:.3g}"
        console.print(f"{pad}{safe(node.id)} [{style}]{node.status}[/]{conf}: "
                      f"{safe(node.text)}")
        console.print(f"{pad}    [dim]{safe(detail)}[/]")
    counts: dict[str, int] = {}
    for node in evaluation.nodes.values():
        counts[node.status] = counts.get(node.status, 0) + 1
    console.print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))


__all__ = ["CASE_HELP", "print_tree", "register"]
