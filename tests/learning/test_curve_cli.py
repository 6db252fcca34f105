"""`autoalign learn curve` through the real CLI: it writes the three files and resumes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.helpers import invoke

CONFIG = """
name = "cli"
rounds = 3
t0 = 1
new_flaw_type = "hallucinated-reference"
old_flaw_types = ["unproduced-result"]
per_type = 2
controls = 1
critics = ["c1.results-produced", "knn"]
"""


def test_learn_curve_writes_json_markdown_and_figure_and_resumes(tmp_path: Path) -> None:
    (tmp_path / "curve.toml").write_text(CONFIG)
    url = f"sqlite:///{tmp_path / 'r.db'}"
    first = invoke("learn", "curve", "curve.toml", "--out", "out", "--db", url, cwd=tmp_path)
    assert first.code == 0, first.err
    data = json.loads((tmp_path / "out" / "curve.json").read_text())
    assert data["rounds_done"] == [0, 1, 2]
    assert {p["critic"] for p in data["points"]} == {"c1.results-produced", "knn.cli"}
    assert (tmp_path / "out" / "curve.png").stat().st_size > 0
    assert (tmp_path / "out" / "curve.md").exists()
    again = invoke("learn", "curve", "curve.toml", "--out", "out", "--db", url, cwd=tmp_path)
    assert again.code == 0 and "0 round(s) run, 3 already done, 0 new trial(s)" in again.out


def test_a_bad_config_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "curve.toml").write_text(CONFIG.replace("t0 = 1", "t0 = 9"))
    got = invoke("learn", "curve", "curve.toml", "--db", f"sqlite:///{tmp_path / 'r.db'}",
                 cwd=tmp_path)
    assert got.code == 1 and "t0" in got.err
    assert not (tmp_path / "r.db").exists()
