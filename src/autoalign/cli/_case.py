"""`autoalign case ...`: safety cases bound to live evidence (`docs/safety-case.md`).

Thin: it reads the case file and its inputs, calls `autoalign.case`, and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .._text import safe
from ..errors import UsageError
from ._common import DbOption, lazy_console, open_store, parse_id, use_db

if TYPE_CHECKING:
    from rich.console import Console

    from ..case import Change, Evaluation, Loaded, Sources
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
    out = console or lazy_console(highlight=False, soft_wrap=True)
    group = typer.Typer(help=CASE_HELP, no_args_is_help=True, add_completion=False,
                        pretty_exceptions_enable=False, rich_markup_mode=None)
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
        no_save: Annotated[bool, typer.Option(
            "--no-save", help="Do not store the evaluation as a snapshot.")] = False,
    ) -> None:
        """Evaluate a case: every solution's metric (from the database or the red-team report)
        against its threshold, statuses and confidence propagated up; prints the tree with each
        node's status, figures (estimate, interval, n, method) and reason, and stores the
        evaluation as a snapshot in the database (for `case diff`)."""
        from ..case import save_snapshot

        use_db(db)
        loaded = _loaded(file, out)
        store = None if no_db else open_store(writable=not no_save)
        try:
            evaluation = _evaluate(file, loaded, store, redteam)
            snapshot = None
            if store is not None and not no_save:
                snapshot = save_snapshot(store, evaluation)
        finally:
            if store is not None:
                store.close()
        print_tree(evaluation, out)
        if snapshot is not None:
            out.print(f"snapshot {snapshot} of case {safe(evaluation.case_name)} stored")

    @group.command("register")
    def register_cmd(
        file: CaseFileArgument,
        redteam: RedteamOption = None,
        experiment: Annotated[str | None, typer.Option(
            metavar="NAME|ID", help="Or: build the red-team report from this experiment of the "
            "database at each evaluation.")] = None,
        name: Annotated[str | None, typer.Option(
            help="The case's name (default: the file's stem).")] = None,
        db: DbOption = None,
    ) -> None:
        """Register a case for the database: it is re-evaluated (and a snapshot stored) after
        every `autoalign run` and `autoalign redteam run`, which print any node whose status
        changed. Evaluates it once now."""
        from ..case import case_digest, evaluate, save_snapshot, sources_for

        if redteam is not None and experiment is not None:
            raise UsageError("give --redteam REPORT.json or --experiment NAME, not both")
        use_db(db)
        loaded = _loaded(file, out)
        assert loaded.case is not None
        report = str(redteam.resolve()) if redteam is not None else None
        with open_store(writable=True) as store:
            # Evaluated first: a case whose inputs cannot be read is not registered.
            sources = sources_for(store, redteam_report=report, redteam_experiment=experiment)
            evaluation = evaluate(loaded.case, sources, name=name or file.stem,
                                  digest=case_digest(file.read_text(encoding="utf-8")))
            reg = store.register_case(name=evaluation.case_name, path=str(file.resolve()),
                                      redteam_report=report, redteam_experiment=experiment)
            snapshot = save_snapshot(store, evaluation)
        print_tree(evaluation, out)
        out.print(f"registered case {safe(reg.name)}; snapshot {snapshot} stored; it is "
                  "re-evaluated after every `autoalign run` and `autoalign redteam run`")

    @group.command("snapshots")
    def snapshots_cmd(
        case: Annotated[str | None, typer.Option(
            "--case", metavar="NAME", help="Only this case's snapshots.")] = None,
        db: DbOption = None,
    ) -> None:
        """List the stored evaluations: id, case, when, and the count per status."""
        use_db(db)
        with open_store() as store:
            records = store.case_snapshots(case_name=case)
        if not records:
            out.print("no case snapshot yet (`autoalign case evaluate` or `case register`)")
        for r in records:
            counts: dict[str, int] = {}
            for node in r.content.get("nodes", {}).values():
                counts[node["status"]] = counts.get(node["status"], 0) + 1
            shown = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
            out.print(f"{r.id}  {safe(r.case_name)}  {r.evaluated_at:%Y-%m-%d %H:%M:%S}  {shown}")

    @group.command("diff")
    def diff_cmd(
        snapshots: Annotated[list[str] | None, typer.Argument(
            metavar="[A B]", help="Two snapshot ids (default: the last two of the case).",
            show_default=False)] = None,
        case: Annotated[str | None, typer.Option(
            "--case", metavar="NAME", help="The case whose last two snapshots to compare.")]
        = None,
        db: DbOption = None,
    ) -> None:
        """What changed between two snapshots of a case: each node whose status or confidence
        changed, and why (the evidence whose reading moved: estimate, interval, n)."""
        from ..case import diff, snapshot_evaluation

        use_db(db)
        given = snapshots or []
        if len(given) not in (0, 2):
            raise UsageError("give two snapshot ids, or none for the case's last two")
        with open_store() as store:
            if given:
                ids = [parse_id(v, what="snapshot", listing="autoalign case snapshots")
                       for v in given]
                a, b = (store.case_snapshot(i) for i in ids)
            else:
                records = store.case_snapshots(case_name=case)
                names = {r.case_name for r in records}
                if case is None and len(names) > 1:
                    raise UsageError("snapshots of several cases: pass --case NAME (`autoalign "
                                     "case snapshots` lists them)")
                if len(records) < 2:
                    raise UsageError("fewer than two snapshots to compare; evaluate the case "
                                     "again (`autoalign case evaluate`)")
                a, b = records[-2], records[-1]
        changes = diff(snapshot_evaluation(a), snapshot_evaluation(b))
        out.print(f"case {safe(b.case_name)}: snapshot {a.id} ({a.evaluated_at:%Y-%m-%d %H:%M})"
                  f" -> {b.id} ({b.evaluated_at:%Y-%m-%d %H:%M})")
        if a.digest != b.digest:
            out.print("[yellow]the case file changed between the two[/]")
        print_changes(changes, out)

    @group.command("impact")
    def impact_cmd(
        target: Annotated[str, typer.Argument(
            metavar="METRIC|ARTIFACT", help="A metric path or part of one (a metric name, "
            "a critic id, a flaw type, `db:review`), or an artifact id.", show_default=False)],
        file: Annotated[Path | None, typer.Option(
            "--case", metavar="FILE", help="This case file (default: every registered case).")]
        = None,
        db: DbOption = None,
    ) -> None:
        """The claims that depend on a metric or an artifact: each goal and strategy whose
        evidence reads it, per case."""
        from ..case import Sources, artifact_metrics, evaluate, impact

        use_db(db)
        cases: list[tuple[str, Path]] = []
        store = None
        if file is None or target.isdigit():
            store = open_store()
        try:
            if file is not None:
                cases.append((file.stem, file))
            else:
                assert store is not None
                cases = [(r.name, Path(r.path)) for r in store.registered_cases()]
                if not cases:
                    raise UsageError("no case registered for this database; pass --case FILE "
                                     "or `autoalign case register FILE`")
            for name, path in cases:
                loaded = _loaded(path, out)
                assert loaded.case is not None
                evaluation = evaluate(loaded.case, Sources(), name=name)
                needles = [target]
                if target.isdigit():
                    assert store is not None
                    every = sorted({m for n in evaluation.nodes.values() for m in n.metrics})
                    needles = artifact_metrics(store, int(target), every)
                hits = {n.id: n for needle in needles for n in impact(evaluation, needle)}
                out.print(f"case {safe(name)}: {len(hits)} claim(s) depend on "
                          f"{safe(target)}" + (f" (through {', '.join(needles)})"
                                               if target.isdigit() and needles else ""))
                for node in evaluation.nodes.values():
                    if node.id in hits:
                        reads = [m for m in node.metrics if any(x in m for x in needles)]
                        out.print(f"  {safe(node.id)}: {safe(node.text)}")
                        out.print(f"    [dim]reads {safe(', '.join(reads))}[/]")
        finally:
            if store is not None:
                store.close()


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


    @group.command("render")
    def render_cmd(
        file: CaseFileArgument,
        fmt: Annotated[str, typer.Option(
            "--format", metavar="svg|html|mermaid|summary|gsn2x",
            help="svg or html (nodes coloured by status, with their figures), mermaid (for "
            "Markdown), summary (one page in words), gsn2x (plain gsn2x YAML, x- keys "
            "stripped).")] = "html",
        out_file: Annotated[Path | None, typer.Option(
            "--out", metavar="FILE", help="Write here (default: print).")] = None,
        redteam: RedteamOption = None,
        db: DbOption = None,
        no_db: NoDbOption = False,
    ) -> None:
        """Render a case, evaluated now against the database and the red-team report (gsn2x:
        the file itself, without evaluating)."""
        from ..case import (
            FORMATS,
            export_gsn2x,
            render_html,
            render_mermaid,
            render_summary,
            render_svg,
        )

        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r}; one of: {', '.join(FORMATS)}")
        use_db(db)
        loaded = _loaded(file, out)
        assert loaded.case is not None
        if fmt == "gsn2x":
            text = export_gsn2x(loaded.case)
        else:
            store = None if no_db else open_store()
            try:
                evaluation = _evaluate(file, loaded, store, redteam)
            finally:
                if store is not None:
                    store.close()
            text = {"svg": render_svg, "html": render_html, "mermaid": render_mermaid,
                    "summary": render_summary}[fmt](evaluation)
        if out_file is None:
            out.print(safe(text), end="")
            return
        out_file.write_text(text, encoding="utf-8")
        out.print(f"wrote {safe(str(out_file))} ({fmt})")


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


def print_changes(changes: list[Change], console: Console, *, prefix: str = "") -> None:
    """One line per changed node (a node turned defeated first, in bold red), then the
    evidence that moved under it."""
    from ..case import figure_reading

    if not changes:
        console.print(f"{prefix}no node changed status or confidence")
    for c in changes:
        before = c.before or "(new)"
        after = c.after or "(removed)"
        conf = ""
        if c.doubt_before is not None or c.doubt_after is not None:
            conf = (f" (confidence {_conf(c.doubt_before)} -> {_conf(c.doubt_after)})")
        style = "bold red" if c.turned_defeated else ""
        line = f"{prefix}{safe(c.node)}: {before} -> {after}{conf}: {safe(c.text)}"
        if c.turned_defeated:
            line = f"{prefix}DEFEATED {safe(c.node)}: was {before}{conf}: {safe(c.text)}"
        console.print(f"[{style}]{line}[/]" if style else line)
        for m in c.moved:
            console.print(f"{prefix}    because {safe(m.metric)}: {figure_reading(m.before)} -> "
                          f"{figure_reading(m.after)}")


def _conf(doubt: float | None) -> str:
    return "—" if doubt is None else f"{1 - doubt:.3g}"


def print_case_changes(store: Store, console: Console) -> None:
    """Re-evaluate the cases registered for `store` and print, per case, the nodes whose
    status changed since its last snapshot (a node turned defeated first). Prints nothing
    when no case is registered. Called at the end of `autoalign run` and `redteam run`."""
    from ..case import reevaluate_registered

    results = reevaluate_registered(store)
    for r in results:
        if r.error is not None:
            console.print(f"[yellow]case {safe(r.name)}: not re-evaluated: {safe(r.error)}[/]")
            continue
        if r.first:
            console.print(f"case {safe(r.name)}: evaluated (snapshot {r.snapshot_id}), first "
                          "snapshot")
            continue
        status_changes = [c for c in r.changes if c.before != c.after]
        if not status_changes:
            console.print(f"case {safe(r.name)}: no node changed status (snapshot "
                          f"{r.snapshot_id})")
            continue
        defeated = sum(c.turned_defeated for c in status_changes)
        head = f"case {safe(r.name)}: {len(status_changes)} node(s) changed status"
        if defeated:
            head = f"[bold red]{head}, {defeated} turned DEFEATED[/]"
        console.print(f"{head} (snapshot {r.snapshot_id}; `autoalign case diff --case "
                      f"{safe(r.name)}`)")
        print_changes(status_changes, console, prefix="  ")


__all__ = ["CASE_HELP", "print_case_changes", "print_changes", "print_tree", "register"]
