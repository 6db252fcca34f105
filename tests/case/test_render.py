"""Renderings: SVG and HTML coloured by status with the evidence figures, escaped and
self-contained; Mermaid; the summary in words; plain gsn2x YAML without x- keys."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autoalign.case import (
    Sources,
    evaluate,
    export_gsn2x,
    layers,
    load_text,
    render_html,
    render_mermaid,
    render_summary,
    render_svg,
)
from autoalign.case._render import FILL
from autoalign.redteam import RedteamReport
from autoalign.vocabulary import CaseStatus

from ..cli.helpers import invoke
from .conftest import independent_trials, report_of
from .test_evaluate import CASE

HOSTILE = CASE.replace("text: Critic a catches cherry-picking.",
                       'text: "Critic a <script>alert(1)</script> & \\x1b[31m catches"')


@pytest.fixture(scope="module")
def report() -> RedteamReport:
    return report_of(independent_trials(subjects=1500, recalls={"a@1": 0.8, "b@1": 0.7}))


def _evaluation(report: RedteamReport, text: str = HOSTILE):  # type: ignore[no-untyped-def]
    loaded = load_text(text)
    assert loaded.ok and loaded.case is not None
    return loaded.case, evaluate(loaded.case, Sources(report=report), name="demo")


def test_layers_follow_the_argument(report: RedteamReport) -> None:
    _case, evaluation = _evaluation(report)
    rows = layers(evaluation)
    assert rows[0] == ["G1"] and rows[1] == ["S1"]
    assert set(rows[2]) == {"A1", "G2", "G3"} and "CG9" in rows[3]
    assert sorted(i for r in rows for i in r) == sorted(evaluation.nodes)


def test_svg_and_html_are_coloured_by_status_escaped_and_self_contained(
    report: RedteamReport,
) -> None:
    _case, evaluation = _evaluation(report)
    svg = render_svg(evaluation)
    root = ET.fromstring(svg)  # well-formed XML
    groups = {g.get("id"): g for g in root.iter("{http://www.w3.org/2000/svg}g")}
    for eid, node in evaluation.nodes.items():
        shape = next(iter(groups[f"node-{eid}"].iter()), None)
        assert shape is not None
        fills = [el.get("fill") for el in groups[f"node-{eid}"].iter() if el.get("fill")]
        assert fills == [FILL[node.status]], eid
    assert "<script" not in svg and "&lt;script&gt;" in svg and "\\x1b" in svg
    metric = report.select("recall", "wilson", critic="a@1", flaw_type="cherry-pick")[0]
    assert f"n={metric.n}" in svg
    page = render_html(evaluation)
    assert "<script" not in page and "http" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert page.count("<tr style=") == len(evaluation.nodes)
    assert "defeated" in page and "supported" in page


def test_mermaid_summary_and_gsn2x(report: RedteamReport) -> None:
    case, evaluation = _evaluation(report)
    mermaid = render_mermaid(evaluation)
    assert mermaid.startswith("```mermaid\nflowchart TD")
    assert "class n_CSn9 defeated" in mermaid and "class n_G1 supported" in mermaid
    assert "n_CG9 -. challenges .-x n_A1" in mermaid and "<script" not in mermaid
    summary = render_summary(evaluation)
    assert "Top claim G1" in summary and "is supported" in summary
    assert "CSn9" in summary  # the defeater's evidence failed its test, named in words
    exported = export_gsn2x(case)
    assert "x-" not in exported
    again = load_text(exported)
    assert again.case is not None
    assert list(again.case.elements) == list(case.elements)
    assert all(e.evidence is None for e in again.case.elements.values())
    assert again.case.elements["CG9"].challenges == ["A1"]
    assert not [p for p in again.problems if p.severity == "error"]


def test_case_render_command(tmp_path: Path, report: RedteamReport) -> None:
    (tmp_path / "case.yaml").write_text(CASE)
    (tmp_path / "r.json").write_text(report.model_dump_json())
    for fmt in ("svg", "html", "mermaid", "summary", "gsn2x"):
        result = invoke("case", "render", "case.yaml", "--format", fmt, "--redteam", "r.json",
                        "--no-db", "--out", f"out.{fmt}", cwd=tmp_path)
        assert result.code == 0, (fmt, result.err)
    assert (tmp_path / "out.svg").read_text().startswith("<svg")
    assert "Top claim G1" in (tmp_path / "out.summary").read_text()
    bad = invoke("case", "render", "case.yaml", "--format", "pdf", "--no-db", cwd=tmp_path)
    assert bad.code == 1 and "unknown format" in bad.err
    assert CaseStatus.SUPPORTED.value in (tmp_path / "out.html").read_text()
