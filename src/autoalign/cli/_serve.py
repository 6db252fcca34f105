"""`autoalign serve`: the web app (review queue, research browser, calibration, red-team and
safety-case pages) on one research database. Thin: `autoalign.web` builds the app; this module
checks the options and starts uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from ._common import DbOption, _State, console, use_db

TOKENS_ENV_VAR = "AUTOALIGN_WEB_TOKENS"
"""Also `autoalign.web.TOKENS_ENV_VAR`; named here so `--help` needs no import of the app."""


def serve(
    host: Annotated[str, typer.Option(help="Address to bind; a non-local one needs "
                                      "--allow-remote and a token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    token: Annotated[
        list[str] | None,
        typer.Option(help="A reviewer's token as NAME=SECRET (repeatable; also "
                     f"${TOKENS_ENV_VAR}, comma-separated). Without any the app is read-only.",
                     show_default=False),
    ] = None,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow binding to a non-local address.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Serve the web app: the review queue (decide with a keystroke; a confirm rolls back as
    `autoalign review decide` does), runs, papers top-down, claims, flaws, provenance graphs,
    calibration, red-team and safety-case pages. The database is opened read-only except for
    review decisions, which need a reviewer token and a CSRF token."""
    from ..errors import UsageError

    try:
        import uvicorn

        from ..web import WebConfig, check_bind, create_app, parse_tokens
    except ImportError as exc:
        raise UsageError(
            f"the web app needs the `web` extra ({exc.name} is missing): "
            "pip install -e '.[web]'"
        ) from exc
    from ..store import resolve_url

    use_db(db)
    pairs = list(token or [])
    if not pairs and os.environ.get(TOKENS_ENV_VAR):
        pairs = [os.environ[TOKENS_ENV_VAR]]
    tokens = parse_tokens(pairs)
    check_bind(host, allow_remote=allow_remote, tokens=tokens)
    app = create_app(WebConfig(url=resolve_url(_State.db), tokens=tokens))
    shown = f"[{host}]" if ":" in host else host
    console.print(f"serving the research database on http://{shown}:{port}/ "
                  + (f"(reviewers: {', '.join(sorted(set(tokens.values())))})" if tokens
                     else "(read-only: no reviewer tokens)"))
    uvicorn.run(app, host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    """Add `serve` to `app`."""
    app.command()(serve)
