"""What every command module shares: consoles, exit codes, the `--db` option, id parsing.

Command modules import only typer and the project's base modules at the top; everything else
(rich, the store, the pipeline, models, numpy) is imported inside the command that needs it, so
that `autoalign --help` and a mistyped command answer at once. The consoles here are made on
first use for the same reason. tests/cli/test_startup.py holds them to that.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from .._environment import DB_ENV_VAR
from .._text import clip
from ..errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

    from ..store import Store


class _LazyConsole:
    """A rich `Console(**options)` made on first use; attributes go to it."""

    _making = threading.Lock()  # one console even if two threads print first at once

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def real(self) -> Console:
        """The console, made now if it was not yet."""
        if self._console is None:
            with self._making:
                if self._console is None:
                    from rich.console import Console

                    self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)


def lazy_console(**options: Any) -> Console:
    """A console that imports rich and is made only when first used. Like a `Console` made
    without `file`, it writes to whatever `sys.stdout` (or `sys.stderr`) is when it prints."""
    return cast("Console", _LazyConsole(**options))


def real_console(console: Console) -> Console:
    """The `Console` behind a lazy one (or `console` itself), for rich objects that take a
    console: a live display uses it as a context manager, which a proxy cannot forward."""
    return console.real() if isinstance(console, _LazyConsole) else console


console = lazy_console(highlight=False, soft_wrap=True)
err = lazy_console(stderr=True, highlight=False, soft_wrap=True)

QUICKSTART = Path(__file__).parent.parent / "_quickstart.toml"
"""The agenda `autoalign init` writes; the same file as examples/quickstart.toml."""

EXIT_ERROR = 1
"""A project error: bad input, configuration, a database that cannot be used."""
EXIT_STOPPED = 3
"""The run ended `stopped` (budget spent, a step failed under `on_failure = "stop"`, ...)."""
EXIT_FAILED = 4
"""The run ended `failed` (a provider error that retries did not fix)."""

MAX_ID = 2**63 - 1
"""Largest id a database row can have (SQLite INTEGER, PostgreSQL BIGINT)."""


class _State:
    db: str | None = None


RootDbOption = Annotated[
    str | None,
    typer.Option(
        "--db", envvar=DB_ENV_VAR, help="SQLAlchemy URL of the research database.",
        show_default=".autoalign/research.db",
    ),
]
"""`autoalign --db URL COMMAND`: before the command name; falls back to `$AUTOALIGN_DB`."""

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="SQLAlchemy URL of the research database (overrides the one given before "
        "the command name and $AUTOALIGN_DB).", show_default=False,
    ),
]
"""`autoalign COMMAND --db URL`: after the command name. No envvar here, so an explicit
`--db` before the command is never overridden by the environment."""


def set_root_db(db: str | None) -> None:
    """Record the `--db` given before the command name (or `$AUTOALIGN_DB`)."""
    _State.db = db


def use_db(db: str | None) -> None:
    """Record a `--db` given after the command name; it wins over the one before."""
    if db is not None:
        _State.db = db


def open_store(*, create: bool = False, writable: bool | None = None) -> Store:
    """The research database; commands that only read pass `create=False` (the default), so a
    missing database is an error rather than a new empty one. A command that writes into an
    existing database passes `writable=True`: a read-only one is then refused when opened."""
    from ..store import Store

    return Store.open(_State.db, create=create, writable=writable)


def parse_id(value: str, *, what: str, listing: str = "autoalign show") -> int:
    """A row id given on the command line: a positive integer that fits the database; the
    error names `listing`, the command that lists such ids."""
    text = value.strip()
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 19 else 0
    if not 1 <= number <= MAX_ID:
        raise UsageError(
            f"{what} id must be a positive integer up to {MAX_ID} (got {clip(value, limit=40)!r}); "
            f"list them with `{listing}`"
        )
    return number


RunFilter = Annotated[
    int | None, typer.Option("--run", min=1, max=MAX_ID, help="Only this run's rows.")
]
IdArgument = Annotated[str, typer.Argument(metavar="ID", show_default=False)]
NEGATIVE_IDS = {"ignore_unknown_options": True}
"""Lets `show artifact -1` reach the id check instead of failing as an unknown option."""


def bar_columns() -> tuple[TextColumn, BarColumn, MofNCompleteColumn]:
    """The columns of every progress bar: what, how far, done of total."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

    return (TextColumn("[bold]{task.description:<8}"), BarColumn(), MofNCompleteColumn())


def command_group(app: typer.Typer, name: str, help: str) -> typer.Typer:
    """The command group `name` of `app`, created on first use (several modules add commands
    to one group)."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help=help, no_args_is_help=True, add_completion=False,
                        pretty_exceptions_enable=False, rich_markup_mode=None)
    app.add_typer(group, name=name)
    return group
