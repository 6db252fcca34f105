"""`autoalign redteam run CONFIG`, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from autoalign.store import Store
from tests.cli.helpers import files_under, invoke, one_error_line
from tests.pipeline.conftest import Team

CONFIG = '''
name = "cli"
critics = ["c1.code-integrity", "c2.numbers-match", "c2.review", "c3.evidence"]
flaw_types = ["swallowed-error", "number-differs-from-log", "shared-ancestor-support"]
injections_per_type = 2
controls = 1

[models]
default = "{model}"
'''


def test_run_prints_detected_of_n_and_resumes(tmp_path: Path, team: tuple[Team, str]) -> None:
    scripted, model = team
    (tmp_path / "rt.toml").write_text(CONFIG.format(model=model))
    db = f"sqlite:///{tmp_path / 'r.db'}"
    result = invoke("--db", db, "redteam", "run", "rt.toml", cwd=tmp_path)
    assert result.code == 0, result.err
    assert "red-team experiment cli" in result.out
    rows = [line for line in result.out.splitlines() if "c1.code-integrity@1" in line]
    assert any("swallowed-error" in r and "2/2" in r for r in rows), result.out
    assert any("controls" in r and "0/1" in r for r in rows), result.out
    with Store.open(db) as store:
        experiment = store.redteam_experiment("cli")
        written = len(store.redteam_trials(experiment.id))
    assert f"{written} new trial(s)" in result.out
    calls = len(scripted.calls)
    again = invoke("--db", db, "redteam", "run", "rt.toml", "--quiet", cwd=tmp_path)
    assert again.code == 0, again.err
    assert "0 new trial(s)" in again.out
    assert len(scripted.calls) == calls

    # The report reads the experiment's trials from the database.
    report = invoke("--db", db, "redteam", "report", "--experiment", "cli", "--out", "rep",
                    "--no-figures", cwd=tmp_path)
    assert report.code == 0, report.err
    assert f"{written} trials" in report.out
    metrics = json.loads((tmp_path / "rep" / "redteam-report.json").read_text())["metrics"]
    recall = [m for m in metrics if m["name"] == "recall" and m["method"] == "wilson"
              and m["keys"] == {"critic": "c1.code-integrity@1", "flaw_type": "swallowed-error"}]
    assert [(m["estimate"], m["n"]) for m in recall] == [(1.0, 2)]
    # With --trials too (e.g. organisms' trials), one report of both.
    (tmp_path / "more.jsonl").write_text(json.dumps({
        "subject": "organism:1:invented_number", "critic": "c1.numbers-match@1",
        "flaw_type": "invented_number", "method": "organism", "detected": True, "flagged": True,
    }) + "\n")
    both = invoke("--db", db, "redteam", "report", "--experiment", "cli", "--trials",
                  "more.jsonl", "--out", "rep2", "--no-figures", cwd=tmp_path)
    assert both.code == 0, both.err
    assert f"{written + 1} trials" in both.out


def test_bad_config_is_one_error_line_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "rt.toml").write_text('name = "x"\ncritics = ["c1.code-integrity"]\n'
                                      'flaw_types = ["swallowed-errors"]\n')
    before = files_under(tmp_path)
    result = invoke("--db", f"sqlite:///{tmp_path / 'r.db'}", "redteam", "run", "rt.toml",
                    cwd=tmp_path)
    line = one_error_line(result)
    assert "flaw_types" in line and "unknown flaw type 'swallowed-errors'" in line
    assert files_under(tmp_path) == before  # no database was created


def test_help_names_the_command(tmp_path: Path) -> None:
    result = invoke("redteam", "run", "--help", cwd=tmp_path)
    assert result.code == 0 and "red-team experiment" in result.out
