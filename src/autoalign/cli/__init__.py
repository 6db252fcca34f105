"""The `autoalign` command line. Thin: it parses, calls the packages, and prints.

One module per command group, each mounted the same way: it exposes `register(app)`, and the
list below calls them in the order `--help` shows. The research database is chosen by `--db`
before the command name (`autoalign --db URL status`, or `$AUTOALIGN_DB`) or after it
(`autoalign status --db URL`, which wins).
"""

from __future__ import annotations

import gc
import sys

import typer

from .._text import safe_line
from ..errors import AutoalignError
from . import (
    _ab,  # A/B tests of components (issue 14)
    _calibration,
    _case,
    _compare,
    _critics,
    _examine,
    _init,
    _learn_checks,  # issue 14, part CK
    _learn_curve,  # learning curves (task LC)
    _learn_demo,
    _learn_erase,  # progressive log erasure (issue 14, part ER)
    _learn_labels,  # issue 14, recalibration: learn labels / recalibrate / versions
    _learn_library,  # the flaw library (issue 14, part LB)
    _learn_weights,
    _redteam_export,
    _redteam_organisms,
    _redteam_pipeline,
    _redteam_report,
    _redteam_run,
    _redteam_starve,
    _rereview,
    _review,
    _run,
    _screens,
    _serve,
    _show,
    _status,
    _study,
    _testbeds,
    _worker,
)
from ._common import EXIT_ERROR, EXIT_FAILED, EXIT_STOPPED, MAX_ID, RootDbOption, err, set_root_db
from ._run import RichProgress, waiting_line

# Every group's help and usage errors use click's plain layout (`rich_markup_mode=None`, set on
# each `typer.Typer` of the command line): typer's rich layout imports rich's Markdown, Syntax and
# Traceback, about a sixth of a second of every `--help` (bench/startup.py). A test walks the
# command tree and holds every group and command to it.
app = typer.Typer(
    rich_markup_mode=None,
    help="Run automated alignment research and measure how far its output can be trusted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(db: RootDbOption = None) -> None:
    set_root_db(db)


COMMAND_MODULES = (
    _init,
    _run,
    _study,
    _status,
    _show,
    _testbeds,
    _calibration,
    _critics,
    _review,
    _compare,
    _screens,
    _rereview,
    _examine,
    _worker,
    _redteam_organisms,
    _redteam_report,
    _redteam_run,
    _redteam_pipeline,
    _redteam_starve,
    _redteam_export,
    _serve,
    _case,
    _learn_library,  # the flaw library (issue 14, part LB)
    _ab,  # A/B tests of components (issue 14): `autoalign ab run`, `autoalign ab report`
    _learn_weights,  # learn weights / export / register-model (issue 14, part JW)
    _learn_checks,  # issue 14, part CK: `learn checks`
    _learn_labels,  # issue 14, recalibration: learn labels / recalibrate / versions
    _learn_curve,  # learning curves (issue 14, part LC)
    _learn_demo,  # the whole loop in one command
    _learn_erase,  # progressive log erasure (issue 14, part ER)
    # A new command group: one module with `register(app)`, added here.
)
for _module in COMMAND_MODULES:
    _module.register(app)


def main() -> None:
    """Entry point: project errors become one line on stderr and exit code 1."""
    try:
        app()
    except AutoalignError as exc:
        err.print(f"[red]error:[/] {safe_line(exc)}")
        sys.exit(EXIT_ERROR)


def entry() -> None:
    """The `autoalign` executable: `main()`, then the process ends.

    The interpreter's final collection would walk every object the imports made (about 40 ms
    of each command's exit, `--help` included) only to free memory the OS reclaims anyway, so
    they are frozen first and skipped. Files, connections and atexit handlers are closed and
    run as before. (Tests call `main()` in their own process, which must keep collecting.)
    """
    try:
        main()
    finally:
        gc.freeze()


__all__ = [
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_STOPPED",
    "MAX_ID",
    "RichProgress",
    "app",
    "entry",
    "main",
    "waiting_line",
]
