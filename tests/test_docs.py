"""Docs drift: every CLI command has help text and is named in the README."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.main import get_command

from autoalign.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _commands(group: typer.Typer, prefix: str = "") -> list[tuple[str, str | None]]:
    command = get_command(group)
    found = []
    for name, sub in command.commands.items():  # type: ignore[attr-defined]
        full = f"{prefix}{name}"
        found.append((full, sub.help))
        if hasattr(sub, "commands"):
            found.extend(
                (f"{full} {n}", c.help) for n, c in sub.commands.items()
            )
    return found


def test_every_command_has_help_and_is_documented() -> None:
    commands = _commands(app)
    assert {"init", "run", "status", "show", "show paper"} <= {name for name, _ in commands}
    for name, help_text in commands:
        assert help_text, f"`autoalign {name}` has no help text"
        assert f"autoalign {name}" in README or f"`{name.split()[-1]}" in README, (
            f"`autoalign {name}` is not in README.md"
        )


def test_readme_commands_are_the_ci_commands() -> None:
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    test_command = (
        "python3 -m venv .venv && .venv/bin/pip install -e '.[test,ray]' && .venv/bin/pytest"
    )
    assert test_command in README and test_command in ci
