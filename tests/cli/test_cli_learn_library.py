"""`autoalign learn library` through the real CLI (the library itself is tested in
tests/critics/test_library.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from autoalign.critics import FlawInvestigator, FlawLibrary, library_version
from autoalign.store import NewLabel, Store
from autoalign.vocabulary import LabelKind, LabelSource

from .helpers import invoke


def _label(store: Store, ref: str, detail: str, flaw_type: str) -> int:
    (label,) = store.add_labels([NewLabel(
        kind=LabelKind.ARTIFICIAL, source=LabelSource.REDTEAM_TRIAL, source_ref=ref,
        subject=ref, present=True, severe=True, known_at=datetime(2026, 1, 1, tzinfo=UTC),
        flaw_type=flaw_type, critic="c2.review@1", detected=False, detail=detail)])
    return label


def test_learn_library_prints_sizes_versions_and_escaped_hits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with Store.open(url) as store:
        first = _label(store, "e:1", "Overclaims [bold]a toy result\x1b[31m for every model.",
                       "overclaiming")
        _label(store, "e:2", "A number in the abstract differs from the log.", "number_mismatch")
        library_version(store, FlawLibrary.from_store(store), reader=FlawInvestigator.id,
                        base_version="1")
    out = invoke("--db", url, "learn", "library", "--query", "toy result overclaims", "--k",
                 "1", cwd=tmp_path)
    assert out.code == 0, out.err
    assert "flaw library: 2 entries (last label 2, last flaw 0" in out.out
    assert "by source: redteam_trial 2" in out.out
    assert "by type: number_mismatch 1, overclaiming 1" in out.out
    assert "c2.investigate: c2.investigate@1+flaw_library.1 (2 entries; current)" in out.out
    (hit,) = [line for line in out.out.splitlines() if line.strip().startswith("1. ")]
    assert f"label:{first} [overclaiming, severe]" in hit
    assert "[bold]a toy result\\x1b[31m" in hit and "\x1b" not in out.out
    assert "2. " not in out.out


def test_learn_library_on_an_empty_database_says_no_entry_matches(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    Store.open(url).close()
    out = invoke("--db", url, "learn", "library", "--query", "anything", cwd=tmp_path)
    assert out.code == 0, out.err
    assert "flaw library: 0 entries" in out.out
    assert "no entry shares a word with the query (0 searched)" in out.out
