"""`autoalign show artifacts --kind K --stage S`: filters, and unknown values as usage errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autoalign.vocabulary import Kind, Stage

from .helpers import files_under, invoke

AGENDA = """
[run]
name = "show-filters"
seed = 0

[models]
default = "scripted:schema"

[pipeline]
ideas_per_topic = 1
idea_framings = 1
proposals = 1

[[topics]]
name = "Reward hacking"
"""


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with one completed run."""
    folder = tmp_path_factory.mktemp("show")
    (folder / "agenda.toml").write_text(AGENDA, encoding="utf-8")
    path = folder / "r.db"
    out = invoke("--db", f"sqlite:///{path}", "run", "agenda.toml", cwd=folder)
    assert out.code == 0, out.err
    return path


def _rows(out: str) -> list[list[str]]:
    """The table's body rows as cells (id, run, stage, kind, ...)."""
    rows = []
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if cells and cells[0].isdigit():
            rows.append(cells)
    return rows


def _flat(text: str) -> str:
    """Error text without the box drawing and line wrapping rich adds."""
    return re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", text))


def test_kind_and_stage_filter_the_listing(db: Path, tmp_path: Path) -> None:
    out = invoke("--db", f"sqlite:///{db}", "show", "artifacts", "--kind", "paper",
                 "--stage", "writeup", cwd=tmp_path)
    assert out.code == 0, out.err
    rows = _rows(out.out)
    assert len(rows) == 1 and rows[0][2:4] == ["writeup", "paper"]
    every = _rows(invoke("--db", f"sqlite:///{db}", "show", "artifacts", cwd=tmp_path).out)
    staged = _rows(invoke("--db", f"sqlite:///{db}", "show", "artifacts", "--stage", "execute",
                          cwd=tmp_path).out)
    assert staged and {r[2] for r in staged} == {"execute"} and len(staged) < len(every)


@pytest.mark.parametrize(
    ("option", "value", "known"),
    [
        ("--kind", "papers", [k.value for k in Kind]),
        ("--kind", "Paper", [k.value for k in Kind]),
        ("--stage", "write-up", [s.value for s in Stage]),
        ("--stage", "", [s.value for s in Stage]),
    ],
)
def test_an_unknown_kind_or_stage_is_a_usage_error_listing_the_known_ones(
    db: Path, tmp_path: Path, option: str, value: str, known: list[str]
) -> None:
    out = invoke("--db", f"sqlite:///{db}", "show", "artifacts", option, value, cwd=tmp_path)
    assert out.code == 2 and out.out == ""
    message = _flat(out.err)
    assert f"Invalid value for '{option}'" in message and f"'{value}' is not one of" in message
    for name in known:
        assert f"'{name}'" in message, name
    assert "Traceback" not in out.err


def test_an_unknown_kind_is_refused_before_the_database_is_opened(tmp_path: Path) -> None:
    out = invoke("--db", "sqlite:///r.db", "show", "artifacts", "--kind", "nope", cwd=tmp_path)
    assert out.code == 2 and "'nope' is not one of" in _flat(out.err)
    assert files_under(tmp_path) == set()
