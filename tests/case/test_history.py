"""A case over time: snapshots, `case diff` (what changed and which evidence moved), `case
impact`, and the registered cases re-evaluated at the end of `autoalign run` and `autoalign
redteam run`, a node that turned defeated printed first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from autoalign.case import Sources, diff, evaluate, load_text, save_snapshot, snapshot_evaluation
from autoalign.case import impact as impact_of
from autoalign.redteam import RedteamReport
from autoalign.store import Store
from autoalign.vocabulary import CaseStatus

from ..cli.helpers import invoke
from ..cli.test_cli import SCHEMA_AGENDA
from ..pipeline.conftest import Team
from .conftest import independent_trials, report_of
from .test_evaluate import CASE

RECALL_A = "redteam:recall{critic=a@1,flaw_type=cherry-pick}"


@pytest.fixture(scope="module")
def reports() -> tuple[RedteamReport, RedteamReport]:
    good = report_of(independent_trials(subjects=1500, recalls={"a@1": 0.8, "b@1": 0.7}))
    weak = report_of(independent_trials(subjects=1500, recalls={"a@1": 0.35, "b@1": 0.7}))
    return good, weak


def test_snapshots_are_stored_and_diff_names_the_evidence_that_moved(
    store: Store, reports: tuple[RedteamReport, RedteamReport],
) -> None:
    loaded = load_text(CASE.replace("combine: any", "combine: all"))
    assert loaded.case is not None
    when = datetime(2026, 1, 1, tzinfo=UTC)
    ids = []
    for report in reports:
        evaluation = evaluate(loaded.case, Sources(report=report, report_time=when),
                              name="c", now=when + timedelta(days=1))
        ids.append(save_snapshot(store, evaluation))
    a, b = (snapshot_evaluation(store.case_snapshot(i)) for i in ids)
    assert a.nodes["G1"].status == CaseStatus.SUPPORTED
    assert b.nodes["G1"].status == CaseStatus.DEFEATED
    changes = diff(a, b)
    assert [c.node for c in changes if c.turned_defeated] == ["G1", "S1", "G2", "Sn1"]
    assert changes[0].turned_defeated
    g1 = next(c for c in changes if c.node == "G1")
    moved_paths = [m.metric for m in g1.moved]
    assert RECALL_A in moved_paths  # a's recall fell (and with it the phi of the misses)
    assert "redteam:recall{critic=b@1,flaw_type=cherry-pick}" not in moved_paths  # b did not
    moved = g1.moved[moved_paths.index(RECALL_A)]
    assert moved.before is not None and moved.after is not None
    assert moved.before.estimate is not None and moved.after.estimate is not None
    assert moved.after.estimate < moved.before.estimate
    assert diff(a, a) == []


def test_impact_lists_the_claims_that_read_a_metric(
    reports: tuple[RedteamReport, RedteamReport],
) -> None:
    loaded = load_text(CASE)
    assert loaded.case is not None
    evaluation = evaluate(loaded.case, Sources())
    assert [n.id for n in impact_of(evaluation, "critic=a@1,")] == ["G1", "S1", "G2"]
    assert [n.id for n in impact_of(evaluation, "miss_phi")] == ["G1", "S1", "CG9"]
    assert impact_of(evaluation, "db:") == []


def test_diff_and_impact_commands(tmp_path: Path,
                                  reports: tuple[RedteamReport, RedteamReport]) -> None:
    db = f"sqlite:///{tmp_path}/r.db"
    assert invoke("--db", db, "init", cwd=tmp_path).code == 0
    (tmp_path / "case.yaml").write_text(CASE)
    for i, report in enumerate(reports):
        (tmp_path / f"r{i}.json").write_text(report.model_dump_json())
        done = invoke("--db", db, "case", "evaluate", "case.yaml", "--redteam", f"r{i}.json",
                      cwd=tmp_path)
        assert done.code == 0, done.err
        assert f"snapshot {i + 1} of case case stored" in done.out
    result = invoke("--db", db, "case", "diff", cwd=tmp_path)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[1].startswith("DEFEATED G2: was supported")
    assert f"because {RECALL_A}" in result.out
    same = invoke("--db", db, "case", "diff", "1", "1", cwd=tmp_path)
    assert "no node changed" in same.out
    listed = invoke("--db", db, "case", "snapshots", cwd=tmp_path)
    assert "1  case" in listed.out and "2  case" in listed.out
    hit = invoke("--db", db, "case", "impact", "miss_phi", "--case", "case.yaml", cwd=tmp_path)
    assert hit.code == 0, hit.err
    assert "3 claim(s) depend on miss_phi" in hit.out and "  CG9: " in hit.out


def test_registered_cases_are_reevaluated_after_a_run(
    tmp_path: Path, reports: tuple[RedteamReport, RedteamReport],
) -> None:
    good, weak = reports
    db = f"sqlite:///{tmp_path}/r.db"
    (tmp_path / "agenda.toml").write_text(SCHEMA_AGENDA.format(latency=0.0))
    (tmp_path / "case.yaml").write_text(CASE)
    (tmp_path / "report.json").write_text(good.model_dump_json())
    assert invoke("--db", db, "init", cwd=tmp_path).code == 0
    reg = invoke("--db", db, "case", "register", "case.yaml", "--redteam", "report.json",
                 cwd=tmp_path)
    assert reg.code == 0, reg.err and "registered case case" in reg.out
    (tmp_path / "report.json").write_text(weak.model_dump_json())  # the critic got worse
    ran = invoke("--db", db, "run", "agenda.toml", cwd=tmp_path)
    assert ran.code == 0, ran.err
    tail = ran.out[ran.out.index("case case:"):]
    assert "turned DEFEATED" in tail.splitlines()[0]
    assert tail.splitlines()[1].startswith("  DEFEATED G2: was supported")
    assert f"because {RECALL_A}" in tail
    with Store.open(db) as store:
        assert len(store.case_snapshots(case_name="case")) == 2
    again = invoke("--db", db, "run", "agenda.toml", cwd=tmp_path)
    assert "case case: no node changed status" in again.out


def test_redteam_run_reevaluates_a_case_bound_to_its_experiment(
    tmp_path: Path, team: tuple[Team, str],
) -> None:
    _scripted, model = team
    from ..redteam.test_cli_redteam import CONFIG

    db = f"sqlite:///{tmp_path}/r.db"
    (tmp_path / "rt.toml").write_text(CONFIG.format(model=model))
    (tmp_path / "case.yaml").write_text("""\
G1:
  text: Critic c1.code-integrity catches swallowed errors.
  supportedBy: [Sn1]
Sn1:
  text: Its red-team recall.
  x-evidence:
    metric: "redteam:recall{critic=c1.code-integrity@1,flaw_type=swallowed-error}"
    bound: estimate
    threshold: 0.5
""")
    assert invoke("--db", db, "init", cwd=tmp_path).code == 0
    reg = invoke("--db", db, "case", "register", "case.yaml", "--experiment", "cli",
                 cwd=tmp_path)
    assert reg.code == 1 and "cli" in reg.err  # no such experiment yet: refused, one line
    first = invoke("--db", db, "redteam", "run", "rt.toml", "--quiet", cwd=tmp_path)
    assert first.code == 0, first.err
    assert "case" not in first.out.split("detected / n")[-1]  # nothing registered yet
    reg = invoke("--db", db, "case", "register", "case.yaml", "--experiment", "cli",
                 cwd=tmp_path)
    assert reg.code == 0, reg.err
    assert "G1 supported" in reg.out
    again = invoke("--db", db, "redteam", "run", "rt.toml", "--quiet", cwd=tmp_path)
    assert again.code == 0, again.err
    assert "case case: no node changed status" in again.out
