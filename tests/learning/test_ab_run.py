"""Running A/B experiments on programmatic critics: what is stored, decided and resumed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from autoalign.cli import app
from autoalign.critics import PaperDraft
from autoalign.errors import ConfigError
from autoalign.learning import (
    AbConfig,
    ab_markdown,
    build_ab_report,
    parse_ab_config,
    register_view,
    run_ab,
)
from autoalign.learning._ab_views import unregister_view
from autoalign.redteam import Subject
from autoalign.store import Store

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ab.toml"
NO_LOG = "test-no-log-numbers"
ODD = "odd|<b>*view*"


def _no_log_numbers(subject: Subject) -> Subject:
    """The paper without the numbers its log reported: the numbers check has nothing to
    compare against (what a critic that sees less would face)."""
    assert isinstance(subject, PaperDraft)
    return subject.model_copy(update={"numbers": ()})


@pytest.fixture(autouse=True)
def _views() -> Iterator[None]:
    register_view(NO_LOG, _no_log_numbers)
    register_view(ODD, lambda s: s)
    yield
    unregister_view(NO_LOG)
    unregister_view(ODD)


def _config(**over: Any) -> AbConfig:
    data: dict[str, Any] = {
        "name": "t", "seed": 1, "flaw_types": ["number-differs-from-log"],
        "injections_per_type": 10, "controls": 1,
        "a": {"critic": "c2.numbers-match", "view": NO_LOG},
        "b": {"critic": "c2.numbers-match"},
    }
    data.update(over)
    return parse_ab_config(data)


def test_the_better_arm_wins_on_paired_tasks(store: Store) -> None:
    summary = asyncio.run(run_ab(store, _config()))
    assert summary.status == "completed" and summary.tasks == summary.finished == 11
    d = summary.difference
    assert d is not None
    assert d.a_only == 0 and d.b_only >= 6
    assert d.difference > 0 and d.interval.low > 0
    assert d.mcnemar_p < 0.05
    rows = store.ab_outcomes(summary.experiment_id)
    assert len(rows) == 22
    by_task: dict[str, dict[str, Any]] = {}
    for r in rows:
        by_task.setdefault(r.task_key, {})[r.arm] = r
    for arms in by_task.values():
        a, b = arms["A"], arms["B"]
        assert a.task_seed == b.task_seed and a.task_index == b.task_index
        assert {a.position, b.position} == {0, 1}
        assert a.critic == b.critic == "c2.numbers-match@1"
        assert (a.view, b.view) == (NO_LOG, "full")
        assert not a.detected  # the view hid what the critic needs
    # the order of the arms is randomised: each arm ran first on some task
    assert {r.arm for r in rows if r.position == 0} == {"A", "B"}
    control = next(arms for key, arms in by_task.items() if key.endswith("/control"))
    assert control["A"].correct and control["B"].correct and control["A"].flaw_type is None


def test_identical_arms_have_no_discordant_pairs(store: Store) -> None:
    config = _config(a={"critic": "c2.numbers-match"}, flaw_types=None, injections_per_type=2)
    summary = asyncio.run(run_ab(store, config))
    d = summary.difference
    assert d is not None and d.n == summary.tasks > 5
    assert d.discordant == 0 and d.difference == 0 and d.mcnemar_p == 1.0
    report = build_ab_report(store, "t")
    assert all(row.difference.discordant == 0 for row in report.by_flaw_type)
    assert {row.flaw_type for row in report.by_flaw_type} >= {"number-differs-from-log",
                                                               "controls"}


def test_a_rerun_adds_no_rows_and_another_config_is_refused(store: Store) -> None:
    config = _config()
    first = asyncio.run(run_ab(store, config))
    before = store.ab_outcomes(first.experiment_id)
    again = asyncio.run(run_ab(store, config))
    assert again.outcomes_written == 0 and again.experiment_id == first.experiment_id
    assert store.ab_outcomes(first.experiment_id) == before
    with pytest.raises(ConfigError, match="exists with another config"):
        asyncio.run(run_ab(store, _config(seed=2)))


def test_a_killed_run_loses_nothing_and_resumes(store: Store) -> None:
    calls = {"n": 0}

    def dying(subject: Subject) -> Subject:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("killed")
        return _no_log_numbers(subject)

    register_view("test-dying", dying)
    try:
        config = _config(a={"critic": "c2.numbers-match", "view": "test-dying"})
        with pytest.raises(RuntimeError, match="killed"):
            asyncio.run(run_ab(store, config))
        experiment = store.ab_experiment("t")
        assert experiment.status == "failed"
        kept = store.ab_outcomes(experiment.id)
        assert 3 <= len(kept) < 22
        summary = asyncio.run(run_ab(store, config))
    finally:
        unregister_view("test-dying")
    assert summary.status == "completed"
    rows = store.ab_outcomes(experiment.id)
    assert len(rows) == 22 and rows[: len(kept)] == kept
    assert summary.outcomes_written == 22 - len(kept)


def test_the_sequential_stop_is_recorded(store: Store) -> None:
    config = _config(sequential=True, alpha=0.2)
    summary = asyncio.run(run_ab(store, config))
    experiment = store.ab_experiment("t")
    assert experiment.status == summary.status == "stopped"
    assert experiment.stopped_after is not None and experiment.stopped_after < experiment.tasks
    assert experiment.stop_statistic is not None and experiment.stop_statistic >= 1 / 0.2
    rows = store.ab_outcomes(experiment.id)
    assert len(rows) == 2 * experiment.stopped_after
    assert summary.sequential is not None and summary.sequential.stopped
    again = asyncio.run(run_ab(store, config))
    assert again.outcomes_written == 0 and len(store.ab_outcomes(experiment.id)) == len(rows)
    report = build_ab_report(store, "t")
    assert report.sequential is not None
    assert report.sequential.stopped_after == experiment.stopped_after
    assert any("sequential test stopped" in note for note in report.notes)


def test_without_sequential_every_task_runs(store: Store) -> None:
    summary = asyncio.run(run_ab(store, _config(sequential=False, alpha=0.2)))
    assert summary.status == "completed" and summary.sequential is None
    assert store.ab_experiment("t").stopped_after is None


def test_the_report_escapes_strings(store: Store) -> None:
    asyncio.run(run_ab(store, _config(a={"critic": "c2.numbers-match", "view": ODD})))
    text = ab_markdown(build_ab_report(store, "t"))
    assert ODD not in text and "<b>" not in text
    assert "&lt;b&gt;" in text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_cli_runs_the_example_and_reports(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    ran = runner.invoke(app, ["ab", "run", str(EXAMPLE), "--quiet", "--db", db_url])
    assert ran.exit_code == 0, ran.output
    again = runner.invoke(app, ["ab", "run", str(EXAMPLE), "--quiet", "--db", db_url])
    assert again.exit_code == 0 and "0 new outcome(s)" in again.output
    out = tmp_path / "report"
    shown = runner.invoke(app, ["ab", "report", "ab-example", "--json", "--out", str(out),
                                "--db", db_url])
    assert shown.exit_code == 0, shown.output
    data = json.loads((out / "ab-report.json").read_text())
    with Store.open(db_url) as store:
        experiment = store.ab_experiment("ab-example")
        assert data["finished"] == experiment.tasks == data["tasks"]
        assert len(store.ab_outcomes(experiment.id)) == 2 * experiment.tasks
    assert data["difference"]["n"] == data["finished"]
    assert (out / "ab-correct-by-flaw-type.png").stat().st_size > 0
    assert (out / "ab-report.md").read_text().startswith("# A/B experiment ab-example")
    bad = runner.invoke(app, ["ab", "report", "nope", "--db", db_url])
    assert bad.exit_code != 0
