"""The report: every metric in a versioned JSON, sections without data say so, and untrusted
names are escaped in Markdown and HTML."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import numpy as np

from autoalign.redteam import (
    SCHEMA_VERSION,
    SECTIONS,
    MetricName,
    OrganicFlaw,
    OrganismPaper,
    RedteamReport,
    TextSample,
    build_report,
    report_json_schema,
    write_report,
)

from .conftest import synthetic_trials, trial

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _inputs() -> dict[str, typing.Any]:
    rng = np.random.default_rng(0)
    return {
        "organic": [
            OrganicFlaw(flaw=f"o{i}", found_by=frozenset(
                c for c in ("c1@1", "c2@1", "c3@1") if rng.random() < 0.5) or {"c1@1"})
            for i in range(40)
        ],
        "texts": [TextSample(text=f"text {i} {'x' * (i % 3)}", injected=i % 2 == 0)
                  for i in range(20)],
        "organisms": [
            OrganismPaper(organism="cherry", paper=f"p{i}", flaws=("cherry-pick",) if i % 2 else (),
                          critics=frozenset({"c1@1", "c2@1"}),
                          flagged_by=frozenset({"c1@1"} if i % 3 else set()))
            for i in range(12)
        ],
    }


def test_every_section_has_metrics_with_n_and_intervals(tmp_path: Path) -> None:
    analysis = build_report(synthetic_trials(subjects=200), n_boot=200, **_inputs())
    report = analysis.report
    assert report.empty == {}
    assert report.version == SCHEMA_VERSION and report.schema_id == "autoalign.redteam.report"
    assert report.n_trials == 600 and report.n_controls == 40
    assert set(typing.get_args(MetricName)) == {m.name for m in report.metrics}
    for m in report.metrics:
        assert m.n > 0
        if m.estimate is not None and m.interval is not None and m.name not in (
            "estimator_bias", "mcnemar_exact_p"
        ) and m.method not in ("bootstrap-percentile", "paired-bootstrap", "mantel-haenszel"):
            assert m.interval.low - 1e-9 <= m.estimate <= m.interval.high + 1e-9, m
    # The flagged controls are listed for adjudication.
    flagged = {t.subject for t in synthetic_trials(subjects=200)
               if t.control and t.flagged and t.critic == "c2@1"}
    assert report.flagged_controls["c2@1"] == sorted(flagged)

    files = write_report(analysis, tmp_path / "out")
    again = RedteamReport.model_validate_json(files.json.read_text())
    assert again == report
    assert {p.name for p in files.figures} == {
        "recall.png", "reliability-1.png", "reliability-2.png", "reliability-3.png",
        "miss-correlation.png", "survival.png",
    }
    assert all(p.stat().st_size > 1000 for p in files.figures)
    page = files.html.read_text()
    assert page.count("data:image/png;base64,") == 6
    assert "http://" not in page and "https://" not in page and "<script" not in page
    md = files.markdown.read_text()
    assert "(figures/recall.png)" in md and "No data" not in md


def test_sections_without_data_say_so(tmp_path: Path) -> None:
    trials = [trial("a", "c1", "n1", True), trial("b", "c1", "n1", False)]
    analysis = build_report(trials, n_boot=50)
    assert set(analysis.report.empty) == set(SECTIONS) - {"recall"}
    files = write_report(analysis, tmp_path, figures=True)
    md = files.markdown.read_text()
    assert md.count("No data:") == len(SECTIONS) - 1
    assert "no trials on clean controls" in md
    assert "no papers of model organisms" in files.html.read_text()
    assert [p.name for p in files.figures] == ["recall.png"]


def test_no_trials_at_all_still_renders(tmp_path: Path) -> None:
    files = write_report(build_report([]), tmp_path)
    report = json.loads(files.json.read_text())
    assert report["metrics"] == [] and set(report["empty"]) == set(SECTIONS)


PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "x|y](javascript:alert(1))**bold**",
    "$\\frac{1}{0}$\x1b[2J",
)


def test_script_injection_in_names_is_escaped(tmp_path: Path) -> None:
    critic, flaw, subject = PAYLOADS[0], PAYLOADS[1], PAYLOADS[2]
    trials = [
        trial("s1", critic, flaw, True, probability=0.9, severe=True),
        trial("s2", critic, flaw, False, probability=0.2),
        trial("s1", PAYLOADS[3], flaw, False, probability=0.4, severe=True),
        trial("s2", PAYLOADS[3], flaw, True),
        trial(subject, critic, None, True),
    ]
    organisms = [OrganismPaper(organism=PAYLOADS[1], paper="p", flaws=(PAYLOADS[0],),
                               critics=frozenset({critic}), flagged_by=frozenset())]
    files = write_report(build_report(trials, organisms=organisms, n_boot=50), tmp_path)
    page = files.html.read_text()
    md = files.markdown.read_text()
    for text in (page, md):
        assert "<script" not in text and "<img src=x" not in text
        assert "\x1b" not in text
    assert "](javascript:" not in md  # in HTML it is inert text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in md
    assert "x\\|y\\]\\(javascript:alert\\(1\\)\\)\\*\\*bold\\*\\*" in md  # the flagged control
    # Figures draw the names as text (no mathtext error from `$`).
    assert any(p.name == "recall.png" for p in files.figures)
    # The JSON keeps the names as they are: the safety case binds to them exactly.
    data = json.loads(files.json.read_text())
    assert data["flagged_controls"] == {critic: [subject]}


def test_docs_define_every_metric() -> None:
    text = (DOCS / "redteam.md").read_text()
    for name in typing.get_args(MetricName):
        assert f"`{name}`" in text, f"docs/redteam.md does not define metric {name!r}"
    stats = (DOCS / "statistics.md").read_text()
    for estimator in ("Clopper-Pearson", "Mantel-Haenszel", "McNemar", "Chapman", "Chao",
                      "jackknife", "phi coefficient", "Hanley", "survival"):
        assert estimator in stats, estimator


def test_the_documented_json_schema_is_the_models() -> None:
    """The schema a safety case binds to changes only on purpose: regenerate the file with
    `report_json_schema()` (and bump `SCHEMA_VERSION` when a metric changes meaning)."""
    documented = json.loads((DOCS / "redteam-report.schema.json").read_text())
    assert documented == report_json_schema()
    assert documented["$id"] == f"autoalign.redteam.report/v{SCHEMA_VERSION}"
