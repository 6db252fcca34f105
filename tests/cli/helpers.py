"""Drive the real CLI in this process: `main()` with its argv, stdout and stderr captured.

Faster than a subprocess per case (which the property tests need), and the same path a user's
`autoalign` takes: `main()` turns project errors into one line on stderr and an exit code.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from autoalign.cli import main


@dataclass(frozen=True)
class Result:
    """How one invocation ended."""

    code: int
    out: str
    err: str


def invoke(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    """Run `autoalign ARGS` in `cwd` (with `env` added to the environment)."""
    out, err = io.StringIO(), io.StringIO()
    saved_argv, saved_env = sys.argv, dict(os.environ)
    sys.argv = ["autoalign", *args]
    os.environ.update(env or {})
    os.environ["COLUMNS"] = "200"
    try:
        with contextlib.chdir(cwd), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved_argv
        os.environ.clear()
        os.environ.update(saved_env)
    return Result(code=code, out=out.getvalue(), err=err.getvalue())


def one_error_line(result: Result) -> str:
    """Assert the invocation failed as a project error: exit 1, one line on stderr, no
    traceback; return that line."""
    lines = result.err.splitlines()
    assert result.code == 1, (result.code, result.out[-2000:], result.err[-2000:])
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err[-2000:]
    assert "Traceback" not in result.err + result.out
    return lines[0]


def files_under(folder: Path) -> set[str]:
    """Every file and folder below `folder`, relative, for "nothing was written" checks."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}
