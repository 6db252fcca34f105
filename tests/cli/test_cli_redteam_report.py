"""`autoalign redteam report`: trials from a JSON-lines file or from the source the command was
given; bad input is one error line naming the file and line."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from autoalign.cli._redteam import redteam_group
from autoalign.cli._redteam_report import register
from autoalign.redteam import dump_trials

from ..redteam.conftest import synthetic_trials, trial
from .helpers import invoke, one_error_line


def test_report_from_a_trials_file(tmp_path: Path) -> None:
    path = dump_trials(synthetic_trials(subjects=60), tmp_path / "trials.jsonl")
    organisms = tmp_path / "organisms.jsonl"
    organisms.write_text(json.dumps({
        "organism": "n1", "paper": "p1", "flaws": ["n-equals-1"], "critics": ["c1@1"],
        "flagged_by": [],
    }) + "\n")
    result = invoke("redteam", "report", "--trials", str(path), "--organisms", str(organisms),
                    "--out", "rep", "--n-boot", "100", "--no-figures", cwd=tmp_path)
    assert result.code == 0, result.err
    data = json.loads((tmp_path / "rep" / "redteam-report.json").read_text())
    assert data["n_trials"] == 180 and data["critics"] == ["c1@1", "c2@1", "c3@1"]
    survival = [m for m in data["metrics"] if m["name"] == "flaw_survival"]
    assert survival and survival[0]["estimate"] == 1.0  # nobody flagged the flawed paper
    assert set(data["empty"]) == {"realism"}
    assert (tmp_path / "rep" / "redteam-report.html").exists()
    assert not (tmp_path / "rep" / "figures").exists()
    assert "c2@1" in result.out and "realism: no data" in result.out


def test_a_bad_line_is_one_error_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "trials.jsonl"
    good = {"subject": "a", "critic": "c1", "flaw_type": "x", "detected": True, "flagged": True}
    path.write_text(json.dumps(good) + "\n\n" + json.dumps({**good, "detected": "perhaps"}) + "\n")
    line = one_error_line(invoke("redteam", "report", "--trials", str(path), cwd=tmp_path))
    assert "trials.jsonl:3" in line and "detected" in line
    path.write_text(json.dumps({**good, "detecetd": True}) + "\n")
    line = one_error_line(invoke("redteam", "report", "--trials", str(path), cwd=tmp_path))
    assert "unknown trial fields ['detecetd']" in line


def test_without_trials_the_command_says_what_to_pass(tmp_path: Path) -> None:
    line = one_error_line(invoke("redteam", "report", cwd=tmp_path))
    assert "--trials" in line


def test_trials_come_from_the_given_source(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app, lambda: [trial("a", "c9", "n1", True), trial("b", "c9", "n1", False)])
    assert redteam_group(app) is redteam_group(app)  # one group, however many modules add to it
    result = CliRunner().invoke(app, ["redteam", "report", "--out", str(tmp_path / "r"),
                                      "--no-figures"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r" / "redteam-report.json").read_text())
    (recall,) = [m for m in data["metrics"]
                 if m["name"] == "recall" and m["method"] == "wilson" and "flaw_type" in m["keys"]]
    assert recall["keys"] == {"critic": "c9", "flaw_type": "n1"}
    assert (recall["estimate"], recall["n"]) == (0.5, 2)


def test_names_are_printed_with_control_characters_escaped(tmp_path: Path) -> None:
    path = dump_trials(
        [trial("a", "\x1b[2Jevil", "n1", True), trial("b", "\x1b[2Jevil", "n1", False)],
        tmp_path / "t.jsonl",
    )
    result = invoke("redteam", "report", "--trials", str(path), "--no-figures", cwd=tmp_path)
    assert result.code == 0, result.err
    assert "\x1b" not in result.out and "\\x1b[2Jevil" in result.out
