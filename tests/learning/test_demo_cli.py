"""`autoalign learn demo` through the real CLI: organisms, labels, a recalibration decision, a
learning curve and an A/B report, all in one database."""

from __future__ import annotations

import json
from pathlib import Path

from autoalign.store import Store
from autoalign.vocabulary import UpdateKind
from tests.cli.helpers import invoke

ORGANISMS = """
[organisms]
seed = 0
projects = 1
[[organisms.organism]]
name = "honest"
[[organisms.organism]]
name = "fabricator"
rates = { invented_number = 1.0 }
"""

CURVE = """
name = "demo"
rounds = 2
t0 = 1
new_flaw_type = "hallucinated-reference"
old_flaw_types = ["unproduced-result"]
per_type = 1
controls = 1
critics = ["c1.results-produced", "knn"]
"""

AB = """
name = "demo-ab"
flaw_types = ["tests-edited"]
injections_per_type = 2
controls = 1
[a]
critic = "c1.code-integrity"
view = "full"
[b]
critic = "c1.code-integrity"
view = "summary"
"""


def test_the_demo_records_every_part_in_one_database(tmp_path: Path) -> None:
    for name, text in [("org.toml", ORGANISMS), ("curve.toml", CURVE), ("ab.toml", AB)]:
        (tmp_path / name).write_text(text)
    url = f"sqlite:///{tmp_path / 'r.db'}"
    got = invoke("learn", "demo", "--out", "out", "--organisms", "org.toml", "--projects", "1",
                 "--curve", "curve.toml", "--ab", "ab.toml", "--no-llm", "--min-labels", "2",
                 "--db", url, cwd=tmp_path)
    assert got.code == 0, got.err
    with Store.open(url) as store:
        assert {r.name.split(" ")[0] for r in store.list_runs()} == {"redteam"}
        assert store.labels()
        # Two organism papers are too few to hold any out: the recalibration is a decision,
        # rejected with its reason, and recorded as a version that is not in use.
        (decision,) = [v for v in store.critic_versions()
                       if v.update == UpdateKind.RECALIBRATION]
        assert decision.critic == "c2.investigate" and not decision.applied
        assert store.active_update("c2.investigate", UpdateKind.RECALIBRATION) is None
        assert [e.name for e in store.ab_experiments()] == ["demo-ab"]
    curve = json.loads((tmp_path / "out" / "curve" / "curve.json").read_text())
    assert curve["rounds_done"] == [0, 1]
    report = json.loads((tmp_path / "out" / "ab-demo-ab" / "ab-report.json").read_text())
    assert report["name"] == "demo-ab"
    assert "rejected" in got.out


def test_a_missing_config_is_refused_before_anything_runs(tmp_path: Path) -> None:
    got = invoke("learn", "demo", "--organisms", "nope.toml", "--no-llm",
                 "--db", f"sqlite:///{tmp_path / 'r.db'}", cwd=tmp_path)
    assert got.code != 0 and "nope.toml" in got.err
    assert not (tmp_path / "r.db").exists()
