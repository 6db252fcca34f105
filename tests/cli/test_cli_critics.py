"""`autoalign critics list` and `autoalign critics evaluate`, through the real CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autoalign.critics import list_critics
from autoalign.critics._code import CodeIntegrity
from autoalign.critics.known_answers import evaluate_known_answers

from .helpers import invoke


def _rows(out: str) -> dict[str, list[str]]:
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if cells and re.fullmatch(r"c[12]\.[a-z-]+", cells[0]):
            rows[cells[0]] = cells
    return rows


def test_list_shows_every_critic_with_version_and_kind(tmp_path: Path) -> None:
    result = invoke("critics", "list", cwd=tmp_path)
    assert result.code == 0, result.err
    rows = _rows(result.out)
    assert {c.id: (c.version, c.kind) for c in list_critics()} == {
        name: (cells[1], cells[2]) for name, cells in rows.items()
    }


def test_list_shows_which_critic_and_stage_each_critic_checks(tmp_path: Path) -> None:
    result = invoke("critics", "list", cwd=tmp_path)
    assert result.code == 0, result.err
    rows = _rows(result.out)
    assert rows["c2.review"][1:4] == ["1", "llm", "critic #2: paper (writeup)"]
    assert rows["c1.spirit"][3] == "critic #1: step (execute)"
    assert {cells[3] for name, cells in rows.items() if name.startswith("c1.")} == {
        "critic #1: step (execute)"
    }


def test_evaluate_prints_what_evaluate_known_answers_computes(tmp_path: Path) -> None:
    result = invoke("critics", "evaluate", cwd=tmp_path)
    assert result.code == 0, result.err
    rows = _rows(result.out)
    scores = evaluate_known_answers()
    assert set(rows) == {s.critic for s in scores}
    for s in scores:
        r, f = s.recall, s.false_alarm
        assert r.interval is not None and f.interval is not None
        assert rows[s.critic][1:] == [
            s.version,
            f"{r.hits / r.n:.3f} ({r.hits}/{r.n})",
            f"[{r.interval.low:.3f}, {r.interval.high:.3f}]",
            f"{f.hits / f.n:.3f} ({f.hits}/{f.n})",
            f"[{f.interval.low:.3f}, {f.interval.high:.3f}]",
        ]
    assert "Wilson 95%" in result.out


def test_a_check_that_never_fires_shows_zero_recall(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CodeIntegrity, "rule", lambda self, step: [])
    result = invoke("critics", "evaluate", cwd=tmp_path)
    assert result.code == 0, result.err
    row = _rows(result.out)["c1.code-integrity"]
    n = int(re.search(r"/(\d+)\)", row[2]).group(1))  # type: ignore[union-attr]
    assert row[2] == f"0.000 (0/{n})" and n >= 6
    assert row[3].startswith("[0.000, ")
    assert "missed by c1.code-integrity: branches on a seed value" in result.out
    assert _rows(result.out)["c1.numbers-match"][2].startswith("1.000")


def test_evaluate_one_critic_and_refuse_unknown_or_llm_ones(tmp_path: Path) -> None:
    one = invoke("critics", "evaluate", "--critic", "c1.claim-evidence", cwd=tmp_path)
    assert one.code == 0 and set(_rows(one.out)) == {"c1.claim-evidence"}
    unknown = invoke("critics", "evaluate", "--critic", "nope", cwd=tmp_path)
    assert unknown.code == 1 and unknown.out == ""
    assert unknown.err.startswith("error: unknown critic 'nope'")
    assert len(unknown.err.strip().splitlines()) == 1
    llm = invoke("critics", "evaluate", "--critic", "c1.spirit", cwd=tmp_path)
    assert llm.code == 1 and "c1.spirit is an llm critic" in llm.err
    assert list(tmp_path.iterdir()) == []  # no database was created
