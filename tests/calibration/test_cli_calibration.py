"""The `calibration` command, mounted on a fresh Typer app the way the CLI mounts it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from typer.testing import CliRunner

from autoalign.cli._calibration import register
from autoalign.store import Store

from .conftest import TruthSource, add_agent_claims, add_paper, add_two_sources


def _app(url: str) -> typer.Typer:
    app = typer.Typer(add_completion=False)

    @app.callback()
    def _root() -> None:
        """Keep `calibration` a named subcommand."""

    register(
        app,
        lambda: Store.open(url),
        truth_for=TruthSource(),
        console=Console(width=200, highlight=False, soft_wrap=True),
    )
    return app


def test_calibration_prints_the_scores_and_writes_the_diagram(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/db.sqlite"
    with Store.open(url) as store:
        add_paper(store, [
            {"text": "a", "testbed": "reward_hacking", "question_id": "penalty_reduces_hacking",
             "probability": 0.8},
            {"text": "b", "testbed": "reward_hacking", "question_id": "bigger_model_hacks_less",
             "probability": 0.3},
            {"text": "c", "testbed": "spurious", "question_id": "probe_finds_feature",
             "probability": 0.9},
            {"text": "d", "testbed": "nonexistent", "question_id": "q", "probability": 0.5},
            {"text": "e", "probability": 0.5},
        ])
    out = tmp_path / "calibration.png"

    result = CliRunner().invoke(
        _app(url), ["calibration", "--out", str(out), "--bins", "2", "--n-boot", "100"]
    )

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # Brier by hand: (0.04 + 0.09 + 0.01) / 3 = 0.0467
    brier = next(line for line in lines if "Brier score" in line)
    assert "0.0467" in brier and brier.rstrip(" │|").endswith("3")
    assert any("log loss" in line for line in lines)
    assert any("ECE (equal-mass)" in line for line in lines)
    assert "95% CI" in result.output
    assert "claims scored: 3" in result.output
    assert "claims skipped: 2" in result.output
    assert "1 claim without a testbed question" in result.output
    assert "1 claim about a testbed without ground truth" in result.output
    assert "unknown testbed 'nonexistent'" in result.output
    assert f"reliability diagram: {out}" in result.output
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_calibration_without_claims_with_ground_truth_says_so_and_exits_0(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/db.sqlite"
    with Store.open(url) as store:
        add_paper(store, [{"text": "ordinary", "probability": 0.6}])
    out = tmp_path / "calibration.png"

    result = CliRunner().invoke(_app(url), ["calibration", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert "no claims with ground truth to score" in result.output
    assert "claims scored: 0" in result.output
    assert "1 claim without a testbed question" in result.output
    assert not out.exists()


def test_calibration_refuses_zero_bins(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(f"sqlite:///{tmp_path}/db.sqlite"), ["calibration", "--bins", "0"]
    )
    assert result.exit_code == 2
    assert "--bins" in result.output


def test_calibration_with_an_unwritable_out_is_a_usage_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/db.sqlite"
    with Store.open(url) as store:
        add_paper(store, [{"text": "a", "testbed": "spurious",
                           "question_id": "probe_finds_feature", "probability": 0.8}])
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")

    result = CliRunner().invoke(
        _app(url), ["calibration", "--out", str(blocker / "x.png"), "--n-boot", "10"]
    )

    assert result.exit_code == 2
    assert "--out" in result.output and "cannot write" in result.output


def _row(lines: list[str], *cells: str) -> str:
    """The one table row holding every cell in `cells`."""
    rows = [line for line in lines if all(f" {cell} " in line for cell in cells)]
    assert len(rows) == 1, (cells, rows)
    return rows[0]


def test_calibration_prints_a_row_per_source_and_per_model(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/db.sqlite"
    with Store.open(url) as store:
        add_two_sources(store)
        # Markup in a model name is printed as written, not interpreted.
        add_agent_claims(store, [{"text": "m", "testbed": "spurious",
                                  "question_id": "probe_finds_feature", "probability": 0.5}],
                         model="local:[bold]m[/bold]")

    result = CliRunner().invoke(
        _app(url), ["calibration", "--out", str(tmp_path / "c.png"), "--bins", "2",
                    "--n-boot", "100"],
    )

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "by source" in lines and "by source and model" in lines
    by_model = lines.index("by source and model")
    sources, models = lines[:by_model], lines[by_model:]
    assert "Brier [95% CI]" in result.output and "ECE [95% CI]" in result.output
    # Per source: 3 study claims; 6 + 1 pipeline claims, every model's.
    assert " 3 " in _row(sources, "study", "all")
    assert " 7 " in _row(sources, "pipeline", "all")
    # Per model. Brier of gemma's three claims by hand: (0.16 + 0.3025 + 0.64) / 3 = 0.3675.
    gemma = _row(models, "local:gemma-3-270m")
    assert "pipeline" in gemma and " 3 " in gemma and "0.3675 [" in gemma
    assert " 2 " in _row(models, "openai:gpt-4o-mini")
    assert " 3 " in _row(models, "study", "(none)")
    # One claim (the paper's) is a group without an interval; so is the markup-named model's.
    lone = _row(models, "pipeline", "(none)")
    assert " 1 " in lone and lone.count("n/a (n < 2)") == 3
    assert "local:[bold]m[/bold]" in _row(models, "local:[bold]m[/bold]")
    assert "none is given for a group of fewer than 2 claims" in result.output
