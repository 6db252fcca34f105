"""`autoalign testbeds list|show|truth`, driven through the real Typer app."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autoalign.cli._testbeds import testbeds_app as app  # not `test*`: pytest would collect it
from autoalign.errors import ConfigError
from autoalign.testbeds import get_testbed, list_testbeds

from .test_registry import BUILTIN

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_list_shows_every_testbed() -> None:
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    for tb in list_testbeds():
        row = next(line for line in result.output.splitlines() if f"│ {tb.name} " in line)
        assert f" {tb.version} " in row and f" {len(tb.questions)} " in row
        assert tb.description.split()[0] in row


def test_show_prints_knobs_interventions_metrics_questions_and_analogy() -> None:
    result = runner.invoke(app, ["show", "reward_hacking"])
    assert result.exit_code == 0, result.output
    out = result.output
    tb = get_testbed("reward_hacking")
    for knob in tb.knobs:
        row = next(line for line in out.splitlines() if f"│ {knob.name} " in line)
        assert knob.type_text in row
    assert "one of loop, tamper" in out and "int in [4, 9]" in out  # brackets not eaten
    for name in [i.name for i in tb.interventions] + [m.name for m in tb.metrics]:
        assert name in out
    for q in tb.questions:
        assert q.id in out
    assert "relative change <= -0.5" in out and "flaw=tamper" in out
    assert "Limits:" in out and "higher" in out and "lower" in out


def test_truth_computes_then_reads_the_cache(truth_cache: Path) -> None:
    args = ["truth", "spurious_correlation", "--seeds", "3", "--workers", "1"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert re.search(r"computed in [\d.]+s; cached at .*truth", first.output)
    for q in get_testbed("spurious_correlation").questions:
        row = next(line for line in first.output.splitlines() if f"│ {q.id} " in line)
        assert re.search(r"[+-]\d\.\d{4} ± \d\.\d{4}", row)
        assert re.search(r" (yes|no) ", row) and " 3 " in row
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "read from cache" in second.output
    assert list((truth_cache / "truth").glob("spurious_correlation-v1-*.json"))


def test_errors() -> None:
    result = runner.invoke(app, ["show", "nope"])
    assert result.exit_code == 1 and isinstance(result.exception, ConfigError)
    assert "known testbeds: " + ", ".join(BUILTIN) in str(result.exception)
    result = runner.invoke(app, ["truth", "reward_hacking", "--seeds", "1"])
    assert result.exit_code == 2  # a usage error from the option's bounds


@pytest.mark.parametrize("command", ["list", "show", "truth"])
def test_every_command_has_help_and_is_documented(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0 and len(result.output.strip()) > 40
    assert f"autoalign testbeds {command}" in (ROOT / "docs" / "testbeds.md").read_text()


def test_docs_describe_every_testbed_and_question() -> None:
    docs = (ROOT / "docs" / "testbeds.md").read_text(encoding="utf-8")
    for tb in list_testbeds():
        if tb.name not in BUILTIN:
            continue
        assert f"`{tb.name}`" in docs
        names = [k.name for k in tb.knobs] + [i.name for i in tb.interventions]
        for name in names + [m.name for m in tb.metrics]:
            assert f"`{name}`" in docs, (tb.name, name)
        for q in tb.questions:
            assert f"`{q.id}`" in docs, (tb.name, q.id)
