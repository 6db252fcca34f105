"""`autoalign init`: create the research database and a starter agenda."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .._text import clip, safe
from ..errors import UsageError
from ._common import QUICKSTART, DbOption, console, open_store, use_db


def init(
    agenda: Annotated[
        Path, typer.Option(help="Where to write a starter agenda (kept if it exists).")
    ] = Path("agenda.toml"),
    db: DbOption = None,
) -> None:
    """Create the research database and a starter agenda."""
    use_db(db)
    if agenda.is_dir():
        raise UsageError(f"--agenda {clip(str(agenda))} is a folder; pass a file path")
    if not agenda.exists() and not agenda.parent.is_dir():
        raise UsageError(
            f"cannot write the agenda {clip(str(agenda))}: the folder "
            f"{clip(str(agenda.parent))} does not exist; create it or pass another --agenda"
        )
    with open_store(create=True) as store:
        console.print(f"database ready: {safe(store.engine.url.render_as_string())}")
    if agenda.exists():
        console.print(f"agenda kept: {safe(agenda)} (already exists)")
        return
    try:
        agenda.write_text(QUICKSTART.read_text(encoding="utf-8"), encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot write the agenda {clip(str(agenda))}: {exc.strerror or exc}; "
            "pass another --agenda"
        ) from None
    console.print(f"agenda written: {safe(agenda)}; run it with `autoalign run {safe(agenda)}`")


def register(app: typer.Typer) -> None:
    """Add `init` to `app`."""
    app.command()(init)
