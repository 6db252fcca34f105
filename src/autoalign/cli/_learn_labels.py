"""`autoalign learn labels`, `learn recalibrate` and `learn versions`: collect labels, recalibrate
critics' stated probabilities from them, and list every critic version. Thin: it calls
`autoalign.learning` and prints."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .._text import safe, safe_line
from ._common import DbOption, lazy_console, open_store, use_db
from ._learn import learn_group

if TYPE_CHECKING:
    from rich.console import Console

    from ..learning import RecalibrationDecision
    from ..store import CriticVersionRecord, LabelRecord, Store


def _writable() -> Store:
    return open_store(writable=True)


def register(
    app: typer.Typer,
    store_factory: Callable[[], Store] | None = None,
    *,
    console: Console | None = None,
) -> None:
    """Add `labels`, `recalibrate` and `versions` to the `learn` group of `app`.

    Args:
        app: the Typer app whose `learn` group gets the commands.
        store_factory: opens the research database for writing; by default the CLI's (`--db`,
            else `$AUTOALIGN_DB`).
        console: where to print; standard output by default.
    """
    group = learn_group(app)
    out = console or lazy_console(highlight=False, soft_wrap=True)
    factory = store_factory or _writable

    @group.command("labels")
    def labels(db: DbOption = None) -> None:
        """Collect labels from the red team's trials, model organisms, human review decisions,
        re-reviews and contradictions (adding only those not stored yet), then print how many
        the table holds by kind, by source and by critic version, with n, and how many carry
        a stated probability."""
        from ..learning import collect_labels

        use_db(db)
        with factory() as store:
            got = collect_labels(store)
            rows = store.labels()
        out.print(f"labels added: {got.added}; labels in the table: n={len(rows)}")
        _print_counts(out, rows)

    @group.command("recalibrate")
    def recalibrate_cmd(
        critic: Annotated[str | None, typer.Option(
            help="The critic id to recalibrate (c2.investigate: critic #2's severe-flaw "
            "probability); default: every critic with enough labelled probabilities.")] = None,
        holdout: Annotated[float, typer.Option(
            min=0.05, max=0.95,
            help="Share of the most recent labels (by when their truth became known) held "
            "out to compare the maps on.")] = 0.3,
        min_labels: Annotated[int, typer.Option(
            "--min-labels", min=2, help="Labels with a stated probability a critic needs.",
        )] = 40,
        seed: Annotated[int, typer.Option(help="Seed of the paired bootstrap.")] = 0,
        db: DbOption = None,
    ) -> None:
        """Collect labels, then fit Platt and isotonic maps of each critic's stated probability
        on its earlier labels and apply the best one only if it lowers the log loss on the
        held-out recent labels (the paired bootstrap interval of the difference below 0).
        Prints per critic: applied or rejected, the method, the held-out log loss before ->
        after with its 95% interval and n, Brier and ECE, and the critic version recorded."""
        from ..learning import collect_labels, recalibrate, recalibration_critics

        use_db(db)
        with factory() as store:
            got = collect_labels(store)
            out.print(f"labels added: {got.added}; labels in the table: n={got.total}")
            critics = [critic] if critic else recalibration_critics(store, min_labels=min_labels)
            if not critics:
                out.print(f"no critic has {min_labels} labels with a stated probability yet: "
                          "nothing to recalibrate")
                return
            for cid in critics:
                decision = recalibrate(store, cid, holdout=holdout, min_labels=min_labels,
                                       seed=seed)
                print_decision(out, decision)

    @group.command("versions")
    def versions(
        critic: Annotated[str | None, typer.Option(
            help="Only this critic id's versions.")] = None,
        db: DbOption = None,
    ) -> None:
        """Every critic version, oldest first, one line each: the version, the update, applied
        or rejected, when, the reason and its evidence."""
        use_db(db)
        with factory() as store:
            rows = store.critic_versions(critic=critic)
        if not rows:
            out.print("no critic versions yet" + (f" for {safe(critic)}" if critic else ""))
            return
        for row in rows:
            out.print(_version_line(row))


def _print_counts(out: Console, rows: list[LabelRecord]) -> None:
    from rich.table import Table

    for title, counts in (
        ("kind", Counter(r.kind.value for r in rows)),
        ("source", Counter(r.source.value for r in rows)),
    ):
        table = Table(header_style="bold")
        table.add_column(title)
        table.add_column("n", justify="right")
        for key, n in sorted(counts.items()):
            table.add_row(safe(key), str(n))
        out.print(table)
    by_critic = Counter(r.critic or "(none)" for r in rows)
    stated = Counter(r.critic or "(none)" for r in rows if r.probability is not None)
    severe = Counter(r.critic or "(none)" for r in rows if r.severe)
    table = Table(header_style="bold")
    table.add_column("critic version")
    table.add_column("n", justify="right")
    table.add_column("severe", justify="right")
    table.add_column("with a stated probability", justify="right")
    for key, n in sorted(by_critic.items()):
        table.add_row(safe(key), str(n), str(severe[key]), str(stated[key]))
    out.print(table)


def print_decision(out: Console, d: RecalibrationDecision) -> None:
    verdict = "[green]applied[/]" if d.applied else "[yellow]rejected[/]"
    method = f" {d.method}" if d.method is not None else ""
    out.print(f"{safe(d.critic)}: {verdict}{method} -> version {safe(d.version.label)} "
              f"(trained on n={d.n_train}, held out n={d.n_held_out})")
    best = d.best
    if d.before is not None and best is not None and best.interval is not None:
        out.print(
            f"  held-out log loss {d.before.log_loss:.4f} ({d.before.map}) -> "
            f"{best.log_loss:.4f}, difference {best.difference:+.4f} "
            f"[95% CI {best.interval[0]:+.4f}, {best.interval[1]:+.4f}], n={best.n}")
        out.print(f"  Brier {d.before.brier:.4f} -> {best.brier:.4f}; ECE {d.before.ece:.4f} -> "
                  f"{best.ece:.4f} (n={best.n})")
        for c in d.candidates:
            if c is not best and c.interval is not None:
                out.print(f"  also tried {c.map}: held-out log loss {c.log_loss:.4f}, "
                          f"difference {c.difference:+.4f} [95% CI {c.interval[0]:+.4f}, "
                          f"{c.interval[1]:+.4f}]")
    out.print(f"  reason: {safe(d.reason)}")


def _evidence_line(evidence: dict[str, Any]) -> str:
    """The evidence in one line: its plain values as key=value; for a recalibration, the
    held-out log loss before and of the best map."""
    parts = [f"{k}={v}" for k, v in evidence.items()
             if isinstance(v, str | int | float | bool) or v is None]
    before, best = evidence.get("before"), evidence.get("best")
    found = [c for c in evidence.get("candidates", []) if isinstance(c, dict)
             and c.get("map") == best]
    if isinstance(before, dict) and found:
        parts.append(f"held-out log loss {before.get('log_loss', float('nan')):.4f} -> "
                     f"{found[0].get('log_loss', float('nan')):.4f} ({best})")
    return " ".join(parts)


def _version_line(row: CriticVersionRecord) -> str:
    state = "applied" if row.applied else "rejected"
    return safe_line(
        f"{row.label}  {row.update.value}  {state}  {row.created_at:%Y-%m-%d %H:%M:%S}  "
        f"{row.reason}  | {_evidence_line(row.evidence)}")


__all__ = ["register"]
