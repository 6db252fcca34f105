"""`autoalign status`: each run's status, progress and spending."""

from __future__ import annotations

import typer

from .._text import safe, safe_line
from ._common import DbOption, console, open_store, use_db


def status(db: DbOption = None) -> None:
    """Show each run's status, progress and spending."""
    from rich.table import Table

    use_db(db)
    with open_store() as store:
        runs = store.run_summaries()  # no agenda is read; nor, below, any artifact
        if not runs:
            console.print("no runs yet; start one with `autoalign run AGENDA`")
            return
        table = Table(header_style="bold")
        for col in ("run", "name", "status", "artifacts", "calls (cached)", "tokens", "cost $"):
            table.add_column(col, no_wrap=True)
        reasons = []
        counts = store.artifact_counts()  # one query; no artifact content is loaded
        for r in runs:
            u = store.run_usage(r.id)
            table.add_row(
                str(r.id), safe(r.name[:24]), safe(r.status),
                str(counts.get(r.id, 0)),
                f"{u.calls} ({u.cache_hits})"
                + (f", {u.unfinished_calls} unfinished" if u.unfinished_calls else ""),
                str(u.input_tokens + u.output_tokens), f"{u.cost_usd:.4f}",
            )
            if r.stop_reason:
                reasons.append(f"run {r.id}: {r.stop_reason}")
        console.print(table)
        for reason in reasons:
            console.print(safe_line(reason))
        console.print(f"open review requests: {store.count_review_requests()}")


def register(app: typer.Typer) -> None:
    """Add `status` to `app`."""
    app.command()(status)
