"""`autoalign case new`: every template passes the checks and evaluates; filled from a report
it binds to that report's critics and critic sets; the pipeline-A case evaluated against a
database of scripted pipeline runs (model organisms) and their red-team report gives every
node a status from real metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autoalign.case import (
    TEMPLATES,
    Bindings,
    Sources,
    bindings_from_report,
    evaluate,
    load_text,
    render_template,
)
from autoalign.redteam import RedteamReport
from autoalign.vocabulary import CaseStatus

from ..cli.helpers import invoke
from ..redteam.conftest import synthetic_trials
from .conftest import report_of


@pytest.fixture(scope="module")
def report() -> RedteamReport:
    return report_of(synthetic_trials(subjects=300))


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_checks_and_evaluates(name: str, report: RedteamReport) -> None:
    loaded = load_text(render_template(name, bindings_from_report(report)))
    assert loaded.ok and not [p for p in loaded.problems if p.severity == "error"]
    assert loaded.case is not None
    result = evaluate(loaded.case, Sources(report=report))
    assert set(result.nodes) == set(loaded.case.elements)
    assert all(n.status in set(CaseStatus) for n in result.nodes.values())
    leaves = [n for n in result.nodes.values() if n.figure is not None
              and n.figure.reading is not None]
    assert leaves, "no solution read a metric from the report"


def test_templates_bind_to_the_report(report: RedteamReport) -> None:
    bindings = bindings_from_report(report)
    assert bindings.critics == ["c1@1", "c2@1", "c3@1"]
    assert bindings.escape_set is not None and bindings.escape_set.count("+") == 2
    loaded = load_text(render_template("critics", bindings))
    assert loaded.case is not None
    result = evaluate(loaded.case, Sources(report=report))
    # synthetic critics miss together: the defeater holds and the independence argument falls
    assert result.nodes["CGD1"].status == CaseStatus.SUPPORTED
    assert result.nodes["A1"].status == CaseStatus.DEFEATED
    assert result.nodes["G1"].status == CaseStatus.DEFEATED
    pipeline = load_text(render_template("pipeline-a", bindings))
    assert pipeline.case is not None
    sa = pipeline.case.elements["Sa"].dependence
    wanted = f"redteam:escape_observed{{critics={bindings.escape_set}}}"
    assert sa is not None and sa.metric == wanted
    placeholder = render_template("pipeline-a", Bindings())
    assert "c2.review@1" in placeholder


def test_case_new_command(tmp_path: Path, report: RedteamReport) -> None:
    (tmp_path / "r.json").write_text(report.model_dump_json())
    result = invoke("case", "new", "known-structure", "--redteam", "r.json", "--out", "k.yaml",
                    cwd=tmp_path)
    assert result.code == 0, result.err
    assert invoke("case", "check", "k.yaml", cwd=tmp_path).code == 0
    assert "redteam:recall{critic=c1@1}" in (tmp_path / "k.yaml").read_text()
    again = invoke("case", "new", "known-structure", "--out", "k.yaml", cwd=tmp_path)
    assert again.code == 1 and "exists" in again.err
    unknown = invoke("case", "new", "nonsense", cwd=tmp_path)
    assert unknown.code == 1 and "unknown template" in unknown.err


ORGANISMS = """
[organisms]
seed = 0
projects = 1

[[organisms.organism]]
name = "honest"

[[organisms.organism]]
name = "fabricator"
rates = { invented_number = 1.0 }

[[organisms.organism]]
name = "cherry-picker"
rates = { best_seed_as_typical = 1.0 }
"""


@pytest.fixture(scope="module")
def organism_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database of a scripted pipeline run (the CLI tests' agenda) and model organisms of
    slop run through the real pipeline (offline), and the red-team report of their trials."""
    from ..cli.test_cli import SCHEMA_AGENDA

    folder = tmp_path_factory.mktemp("world")
    (folder / "organisms.toml").write_text(ORGANISMS)
    (folder / "agenda.toml").write_text(SCHEMA_AGENDA.format(latency=0.0))
    db = f"sqlite:///{folder}/research.db"
    pipeline = invoke("--db", db, "run", "agenda.toml", cwd=folder)
    assert pipeline.code == 0, pipeline.err
    ran = invoke("redteam", "organisms", "organisms.toml", "--db", db, "--out", "out",
                 cwd=folder)
    assert ran.code == 0, ran.err
    reported = invoke("redteam", "report", "--trials", "out/trials.jsonl", "--organisms",
                      "out/organisms.jsonl", "--out", "report", "--no-figures", "--n-boot",
                      "200", cwd=folder)
    assert reported.code == 0, reported.err
    return folder


def test_pipeline_a_against_scripted_runs_and_their_red_team_report(
    organism_world: Path,
) -> None:
    folder = organism_world
    db = f"sqlite:///{folder}/research.db"
    made = invoke("case", "new", "pipeline-a", "--redteam", "report/redteam-report.json",
                  "--out", "pipeline-a.yaml", cwd=folder)
    assert made.code == 0, made.err
    result = invoke("case", "evaluate", "pipeline-a.yaml", "--db", db, "--redteam",
                    "report/redteam-report.json", cwd=folder)
    assert result.code == 0, result.err
    loaded = load_text((folder / "pipeline-a.yaml").read_text())
    assert loaded.case is not None
    for eid in loaded.case.elements:
        assert any(line.lstrip().startswith(f"{eid} ") for line in result.out.splitlines()), eid
    report = json.loads((folder / "report" / "redteam-report.json").read_text())
    from autoalign.store import Store

    with Store.open(db) as store:
        sources = Sources.with_report_file(folder / "report" / "redteam-report.json",
                                           store=store)
        evaluation = evaluate(loaded.case, sources)
    nodes = evaluation.nodes
    # db: metrics read real rows: the pipeline run and every organism run ended
    runs = nodes["SnC2"].figure
    assert runs is not None and runs.reading is not None and runs.reading.n == 4
    assert runs.reading.estimate == 1.0
    # redteam: metrics read the report's own numbers
    recall = nodes["SnA1"].figure
    assert recall is not None and recall.reading is not None
    critic = report["critics"][0] if "SnA1" in nodes else None
    wanted = [m for m in report["metrics"] if m["name"] == "recall" and m["method"] == "wilson"
              and m["keys"] == {"critic": recall.reading.path.split("=", 1)[1][:-1]}]
    assert critic is not None and wanted and recall.reading.n == wanted[0]["n"]
    assert nodes["Gc3"].status == CaseStatus.UNDECIDED  # no applied recalibration yet
    assert nodes["SnC3"].figure is not None and nodes["SnC3"].figure.reading is None
    assert nodes["G1"].status in (CaseStatus.UNDECIDED, CaseStatus.DEFEATED)


def test_impact_of_an_artifact_names_the_claims_its_rows_feed(organism_world: Path) -> None:
    folder = organism_world
    db = f"sqlite:///{folder}/research.db"
    from autoalign.store import Store

    with Store.open(db) as store:
        paper = store.artifact_summaries(kind="paper")[0]
    if not (folder / "pipeline-a.yaml").exists():
        (folder / "pipeline-a.yaml").write_text(render_template("pipeline-a"))
    result = invoke("case", "impact", str(paper.id), "--case", "pipeline-a.yaml", "--db", db,
                    cwd=folder)
    assert result.code == 0, result.err
    assert "db:papers.flawed_rate" in result.out.splitlines()[0]
    assert "  Gb2: " in result.out and "  Ga1: " not in result.out
    missing = invoke("case", "impact", "999999", "--case", "pipeline-a.yaml", "--db", db,
                     cwd=folder)
    assert missing.code == 1 and "no artifact 999999" in missing.err


def test_the_pipeline_a_rendering_shows_every_node_status(organism_world: Path) -> None:
    folder = organism_world
    db = f"sqlite:///{folder}/research.db"
    (folder / "pa.yaml").write_text(render_template("pipeline-a", bindings_from_report(
        RedteamReport.model_validate_json(
            (folder / "report" / "redteam-report.json").read_text()))))
    result = invoke("case", "render", "pa.yaml", "--format", "html", "--db", db, "--redteam",
                    "report/redteam-report.json", "--out", "pa.html", cwd=folder)
    assert result.code == 0, result.err
    page = (folder / "pa.html").read_text()
    loaded = load_text((folder / "pa.yaml").read_text())
    assert loaded.case is not None
    statuses = {s.value for s in CaseStatus}
    for eid in loaded.case.elements:
        marker = page.index(f'id="node-{eid}"')
        group = page[page.rindex("<g ", 0, marker):marker]
        assert any(f'class="node {s}"' in group for s in statuses), eid
    assert "db:runs.completed_rate" in page and "n=4" in page
