"""`autoalign status` and `show` listings: the same output, a --limit, and no content read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from autoalign.store import Store
from autoalign.vocabulary import Status

from .helpers import invoke
from .test_show_filters import _rows

CONTENT_COLUMNS = ("content_text", "content_json", "config")
"""Columns a listing must never select: artifacts' content and runs' agendas."""


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A database with one run of seven artifacts, a paper among them."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with Store.open(url, create=True) as store:
        run = store.create_run(name="listing", agenda_digest="d", config={"x": "y" * 500}).id
        for i in range(6):
            store.add_artifact(run_id=run, kind="idea", stage="propose", step_key=f"idea/{i}",
                               content_text=f"idea {i}\nsecond line " + "z" * 5000)
        paper = store.add_artifact(run_id=run, kind="paper", stage="writeup", title="The paper",
                                   step_key="paper", content_text="paper text")
        store.set_status(paper.id, Status.ACCEPTED, reason="ok")
    return url


def _expected(url: str) -> list[list[str]]:
    """The listing's rows as `show artifacts` printed them before it had a limit: from the full
    records, the preview cut from the content."""
    with Store.open(url, create=False) as store:
        return [
            [str(a.id), str(a.run_id), a.stage, a.kind, a.role or "", a.status, a.step_key or "",
             (a.title or a.content_text).replace("\n", " ")[:60].strip()]
            for a in store.artifacts()
        ]


def test_the_listing_is_unchanged_on_small_data(db: str, tmp_path: Path) -> None:
    out = invoke("--db", db, "show", "artifacts", cwd=tmp_path)
    assert out.code == 0, out.err
    assert _rows(out.out) == _expected(db)
    assert "not shown" not in out.out


def test_a_limit_shows_the_most_recent_and_says_how_to_page_back(
    db: str, tmp_path: Path
) -> None:
    every = _expected(db)
    out = invoke("--db", db, "show", "artifacts", "--limit", "3", cwd=tmp_path)
    assert out.code == 0, out.err
    assert _rows(out.out) == every[-3:]
    first = every[-3][0]
    assert f"4 earlier artifacts not shown; page back with --before {first}" in out.out
    back = invoke("--db", db, "show", "artifacts", "--limit", "3", "--before", first,
                  cwd=tmp_path)
    assert _rows(back.out) == every[1:4]
    assert f"1 earlier artifacts not shown; page back with --before {every[1][0]}" in back.out
    everything = invoke("--db", db, "show", "artifacts", "--limit", "0", cwd=tmp_path)
    assert _rows(everything.out) == every and "not shown" not in everything.out
    assert invoke("--db", db, "show", "artifacts", "--limit", "-1", cwd=tmp_path).code == 2


@contextmanager
def _selects() -> Iterator[list[str]]:
    """The SQL of every SELECT any engine runs inside the block (the CLI opens its own)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


@pytest.mark.parametrize(
    "command",
    [["status"], ["show"], ["show", "runs"], ["show", "papers"], ["show", "artifacts"],
     ["show", "artifacts", "--limit", "2"]],
)
def test_listings_select_no_content(db: str, tmp_path: Path, command: list[str]) -> None:
    """Fails if a listing goes back to loading whole rows (which carry the content)."""
    with _selects() as seen:
        out = invoke("--db", db, *command, cwd=tmp_path)
    assert out.code == 0, out.err
    assert "listing" in out.out or "The paper" in out.out or "idea 5" in out.out, out.out
    assert any("artifacts" in sql or "runs" in sql for sql in seen)
    leaked = [sql for sql in seen if any(col in sql for col in CONTENT_COLUMNS)]
    assert leaked == []


def test_showing_one_artifact_reads_its_content(db: str, tmp_path: Path) -> None:
    """The recorder above sees content when it is read: `show artifact ID` prints it."""
    with _selects() as seen:
        out = invoke("--db", db, "show", "artifact", "1", cwd=tmp_path)
    assert out.code == 0, out.err
    assert "idea 0" in out.out and "downstream artifacts: 0" in out.out
    assert any("content_text" in sql for sql in seen)
