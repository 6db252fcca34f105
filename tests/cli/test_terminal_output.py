"""What the CLI prints from the database is safe on a terminal, and goes to the right stream.

Model output is untrusted: an artifact, a title, a flaw or a stop reason can carry escape
sequences that clear the screen, set the window title or hide text. Every printing path shows
them as visible escapes instead.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai.exceptions import ModelHTTPError

from autoalign.models import register_script
from autoalign.store import Store

from .helpers import invoke

HOSTILE = "\x1b[2J\x1b]0;pwned\x07\x9b31m\x1b[8mhidden\u202e\x00[bold]markup[/]"
"""Clear screen, window title (OSC ... BEL), an 8-bit CSI, concealed text, a bidi override,
NUL and Rich markup."""

RAW_BYTES = ("\x1b", "\x07", "\x9b", "\x00", "\u202e")

AGENDA = """
[run]
name = "terminal"

[models]
default = "{model}"

[pipeline]
ideas_per_topic = 1
idea_framings = 1
proposals = 1

[[topics]]
name = "Reward hacking"
"""


def write_agenda(folder: Path, model: str = "scripted:schema") -> Path:
    path = folder / "agenda.toml"
    path.write_text(AGENDA.format(model=model), encoding="utf-8")
    return path


@pytest.fixture
def hostile_db(tmp_path: Path) -> Path:
    """A database with one completed run whose stored text is hostile everywhere it prints."""
    db = tmp_path / "r.db"
    out = invoke("--db", f"sqlite:///{db}", "run", str(write_agenda(tmp_path)), cwd=tmp_path)
    assert out.code == 0, out.err
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE artifacts SET content_text = content_text || ?, title = ? || id, "
            "model = ?, step_key = step_key || ?",
            (HOSTILE, HOSTILE, "scripted:" + HOSTILE, HOSTILE),
        )
        conn.execute("UPDATE runs SET name = ?, stop_reason = ?", (HOSTILE, HOSTILE))
        (paper_id,) = conn.execute("SELECT id FROM artifacts WHERE kind = 'paper'").fetchone()
    with Store.open(f"sqlite:///{db}") as store:
        store.add_flaw(artifact_id=paper_id, category="overclaiming", severity="major",
                       description=HOSTILE)
        store.add_judgment(artifact_id=paper_id, role="critic-2", decision="accept",
                           rationale=HOSTILE)
    return db


@pytest.mark.parametrize(
    "args",
    [
        ["show", "paper", "PAPER"], ["show", "artifact", "PAPER"], ["show", "artifact", "1"],
        ["show", "artifacts"], ["show", "papers"], ["show", "runs"], ["show"], ["status"],
    ],
)
def test_printed_text_has_no_terminal_escapes(
    hostile_db: Path, tmp_path: Path, args: list[str]
) -> None:
    with sqlite3.connect(hostile_db) as conn:
        (paper_id,) = conn.execute("SELECT id FROM artifacts WHERE kind = 'paper'").fetchone()
    args = [str(paper_id) if a == "PAPER" else a for a in args]
    out = invoke("--db", f"sqlite:///{hostile_db}", *args, cwd=tmp_path)
    assert out.code == 0, out.err
    printed = out.out + out.err
    for raw in RAW_BYTES:
        assert raw not in printed, (raw, args)
    # Neutralised, not dropped: the escapes are shown, and markup is printed as text.
    assert "\\x1b" in printed
    if args[:2] in (["show", "paper"], ["show", "artifact"]):
        assert "\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m" in printed and "[bold]markup[/]" in printed


def test_agenda_error_shows_escapes_instead_of_sending_them(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text('[run]\nname = 7\n["\\u001b]0;x\\u0007"]\n[[topics]]\nname = "x"\n')
    out = invoke("run", str(path), cwd=tmp_path)
    assert out.code == 1
    for raw in RAW_BYTES:
        assert raw not in out.err
    assert "\\x1b" in out.err


def test_failed_run_exits_4_with_the_reason_on_stderr(tmp_path: Path) -> None:
    def unauthorized(_messages: Any, _info: Any) -> Any:
        raise ModelHTTPError(status_code=401, model_name="x", body={"error": "bad key"})

    register_script("cli-unauthorized", unauthorized)
    agenda = write_agenda(tmp_path, model="scripted:cli-unauthorized")
    out = invoke("--db", "sqlite:///r.db", "run", str(agenda), cwd=tmp_path)
    assert out.code == 4, (out.out, out.err)
    assert "status failed" in out.out
    (line,) = out.err.splitlines()
    assert line.startswith("run 1 failed:") and "401" in line
    assert "401" not in out.out
