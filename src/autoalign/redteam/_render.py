"""The red-team report as files: JSON (every metric), Markdown and a self-contained HTML page
(figures embedded, no external resources), figures as PNGs next to them.

Critic names, flaw types, organisms and subjects come from experiment files and models: every
such string passes through `md_text` or `html_text` (control characters shown as escapes by
`autoalign._text.visible`, then Markdown or HTML escaping). Both formats render one list of
sections, so they cannot disagree.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .._text import visible
from ._figures import FigureFile, write_figures
from ._metric import Metric, MetricName
from ._report import SECTIONS, Analysis, RedteamReport, Section
from ._survival import ALL_CRITICS

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")

JSON_NAME = "redteam-report.json"
MARKDOWN_NAME = "redteam-report.md"
HTML_NAME = "redteam-report.html"
FIGURES_DIR = "figures"
LIST_LIMIT = 50
"""Most flagged controls listed per critic in Markdown and HTML (the JSON has them all)."""


def md_text(text: object) -> str:
    """Untrusted text for a Markdown table cell or paragraph: one line, controls escaped, HTML
    escaped (a Markdown renderer passes raw HTML through), Markdown punctuation backslashed."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(visible(str(text), keep_breaks=False)))


def html_text(text: object) -> str:
    """Untrusted text for HTML: one line, controls escaped, `<>&"'` escaped."""
    return html.escape(visible(str(text), keep_breaks=False), quote=True)


@dataclass(frozen=True)
class _Table:
    headers: tuple[str, ...]
    """Column titles: fixed text of this module, never data."""
    rows: list[tuple[str, ...]]
    """Cells: data, escaped when rendered."""


@dataclass
class _Section:
    key: Section
    title: str
    intro: str
    tables: list[_Table] = field(default_factory=list)
    figures: list[FigureFile] = field(default_factory=list)
    lists: list[tuple[str, list[str]]] = field(default_factory=list)
    """(critic, the controls it flagged)."""


def _num(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _ci(m: Metric | None) -> str:
    if m is None or m.interval is None:
        return "n/a"
    return f"{m.interval.low:.3f} to {m.interval.high:.3f}"


def _one(
    report: RedteamReport, name: MetricName, keys: dict[str, str], method: str
) -> Metric | None:
    found = report.select(name, method, **keys)
    return found[0] if found else None


def _sections(report: RedteamReport, figures: Sequence[FigureFile]) -> list[_Section]:
    lv = f"{report.level:.0%}"
    by_title = {f.title: f for f in figures}
    out: dict[Section, _Section] = {}

    s = out["recall"] = _Section(
        "recall", "Recall per critic and flaw type",
        "Injected flaws the critic detected (same type, overlapping location), per flaw type and "
        "pooled (flaw type `all`), and per way the flaw got there when there were several "
        "(programmatic or LLM injection, organisms). n: trials on flawed subjects.",
    )
    rows: list[tuple[str, ...]] = []
    for m in report.metrics:
        if m.name == "recall" and m.method == "wilson":
            cp = _one(report, "recall", m.keys, "clopper-pearson")
            rows.append((
                m.keys["critic"], m.keys.get("flaw_type", "all"), m.keys.get("origin", "all"),
                _num(m.estimate), _ci(m), _ci(cp), str(m.detail.get("detected")), str(m.n),
            ))
    s.tables.append(_Table(
        ("critic", "flaw type", "how injected", "recall", f"Wilson {lv}",
         f"Clopper-Pearson {lv}", "detected", "n"), rows,
    ))
    if "Recall by flaw type" in by_title:
        s.figures.append(by_title["Recall by flaw type"])

    s = out["false_alarms"] = _Section(
        "false_alarms", "False alarms on clean controls",
        "Clean controls the critic flagged. A flagged control goes to a human for adjudication: "
        "\"clean\" artifacts can have real flaws. n: control trials.",
    )
    rows = []
    for m in report.metrics:
        if m.name == "false_alarm_rate" and m.method == "wilson":
            cp = _one(report, "false_alarm_rate", m.keys, "clopper-pearson")
            rows.append((
                m.keys["critic"], _num(m.estimate), _ci(m), _ci(cp), str(m.detail.get("flagged")),
                str(m.n),
            ))
    s.tables.append(_Table(
        ("critic", "false-alarm rate", f"Wilson {lv}", f"Clopper-Pearson {lv}", "flagged", "n"),
        rows,
    ))
    for critic, subjects in report.flagged_controls.items():
        s.lists.append((critic, subjects))

    s = out["calibration"] = _Section(
        "calibration", "Calibration of the probability of a severe flaw",
        "Each critic's stated probability that a subject has a severe flaw, scored against the "
        f"truth. Intervals: percentile bootstrap ({lv}). n: trials with a probability.",
    )
    rows = []
    for m in report.metrics:
        if m.name == "brier":
            ll = _one(report, "log_loss", m.keys, m.method)
            ece = _one(report, "ece", m.keys, m.method)
            rows.append((
                m.keys["critic"], _num(m.estimate), _ci(m), _num(ll.estimate if ll else None),
                _num(ece.estimate if ece else None), _ci(ece), str(m.n),
            ))
    s.tables.append(_Table(
        ("critic", "Brier", "Brier CI", "log loss", "ECE", "ECE CI", "n"), rows
    ))
    s.figures += [f for f in figures if f.title.startswith("Reliability of ")]

    s = out["miss_correlation"] = _Section(
        "miss_correlation", "Correlation of misses",
        "On flawed subjects both critics ran on (n): how often both missed, against the product "
        "of their miss rates (what independence predicts); the phi coefficient of the misses; "
        "the Mantel-Haenszel odds ratio of missing together, stratified by flaw type, with the "
        "Cochran-Mantel-Haenszel test of an odds ratio of 1.",
    )
    rows = []
    for m in report.metrics:
        if m.name == "joint_miss_rate" and m.method == "wilson":
            prod = _one(report, "independent_miss_product", m.keys, "bootstrap-percentile")
            ph = _one(report, "miss_phi", m.keys, "bootstrap-percentile")
            mh = _one(report, "miss_odds_ratio_mh", m.keys, "mantel-haenszel")
            p = mh.detail.get("cmh_p") if mh else None
            rows.append((
                m.keys["critic_a"], m.keys["critic_b"], _num(m.estimate), _ci(m),
                _num(prod.estimate if prod else None), _ci(prod),
                _num(ph.estimate if ph else None), _ci(ph),
                _num(mh.estimate if mh else None), _ci(mh),
                _num(float(p) if isinstance(p, float) else None, 4), str(m.n),
            ))
    s.tables.append(_Table(
        ("critic a", "critic b", "joint miss", "CI", "independent product", "CI", "phi", "CI",
         "MH odds ratio", "CI", "CMH p", "n"), rows,
    ))
    rows = [
        (m.keys["critic_a"], m.keys["critic_b"], m.keys["flaw_type"], _num(m.estimate), _ci(m),
         str(m.n))
        for m in report.metrics if m.name == "miss_phi" and "flaw_type" in m.keys
    ]
    if rows:
        s.tables.append(_Table(("critic a", "critic b", "flaw type", "phi", "CI", "n"), rows))
    rows = []
    for m in report.metrics:
        if m.name == "escape_observed" and m.method == "wilson":
            ind = _one(report, "escape_independent", m.keys, "bootstrap-percentile")
            ratio = m.detail.get("observed_over_independent")
            rows.append((
                m.keys["critics"], _num(m.estimate), _ci(m), _num(ind.estimate if ind else None),
                _ci(ind), _num(float(ratio) if isinstance(ratio, float) else None, 2), str(m.n),
            ))
    if rows:
        s.tables.append(_Table(
            ("critics", "escape (observed)", f"Wilson {lv}", "escape (independent)", "CI",
             "observed / independent", "n"), rows,
        ))
    s.figures += [f for f in figures if f.title == "Correlation of misses"]

    s = out["comparison"] = _Section(
        "comparison", "Two critics on the same subjects (McNemar)",
        "Difference of recalls on the flawed subjects both ran on (paired bootstrap interval) and "
        "McNemar's exact test on the discordant pairs. n: paired subjects.",
    )
    rows = []
    for m in report.metrics:
        if m.name == "recall_difference":
            rows.append((
                m.keys["critic_a"], m.keys["critic_b"], _num(m.estimate), _ci(m),
                str(m.detail.get("a_only")), str(m.detail.get("b_only")),
                _num(_float(m.detail.get("mcnemar_exact_p")), 4), str(m.n),
            ))
    s.tables.append(_Table(
        ("critic a", "critic b", "recall a - b", "CI", "only a", "only b", "McNemar exact p",
         "n"), rows,
    ))

    s = out["capture_recapture"] = _Section(
        "capture_recapture", "Flaws no critic found (capture-recapture)",
        "Estimated total flaws from which critics found which. On injected flaws the truth is "
        "known: the bias table says how far each estimator is off here. n: the true total "
        "(bias) or the flaws found (organic).",
    )
    rows = [
        (m.method, _pair(m), _num(_float(m.detail.get("estimate")), 1), str(m.detail.get("truth")),
         _num(m.estimate, 1), _ci(m), str(m.detail.get("interval_covers_truth")), str(m.n))
        for m in report.metrics if m.name == "estimator_bias"
    ]
    if rows:
        s.tables.append(_Table(
            ("estimator", "critics", "estimate", "truth", "bias", "bias CI", "covers truth",
             "n"), rows,
        ))
    rows = [
        (m.method, _pair(m), _num(m.estimate, 1), _ci(m), _num(_float(m.detail.get("unseen")), 1),
         str(m.n))
        for m in report.metrics if m.name == "population_size"
    ]
    if rows:
        s.tables.append(_Table(
            ("estimator", "critics", "estimated total", "CI", "unseen", "found (n)"), rows
        ))

    s = out["realism"] = _Section(
        "realism", "Realism of the injections",
        "Cross-validated AUC of a TF-IDF + logistic regression classifier telling injected "
        "subjects from organic ones (Hanley-McNeil interval). Near 0.5: the injections leave no "
        "trace this classifier sees. n: texts.",
    )
    s.tables.append(_Table(
        ("AUC", f"{lv} CI", "injected", "organic", "n"),
        [
            (_num(m.estimate), _ci(m), str(m.detail.get("injected")),
             str(m.detail.get("organic")), str(m.n))
            for m in report.metrics if m.name == "realism_auc"
        ],
    ))

    s = out["survival"] = _Section(
        "survival", "Flaw survival per model organism",
        "A paper is accepted when no critic that reviewed it flagged it; removing a critic "
        "changes nothing else. Survival: flawed papers accepted / flawed papers (n: flawed "
        "papers); accepted flaw rate: flawed among accepted (n: accepted papers).",
    )
    rows = []
    for m in report.metrics:
        if m.name == "flaw_survival" and m.method == "wilson":
            acc = _one(report, "accepted_flaw_rate", m.keys, "wilson")
            without = m.keys["without"]
            rows.append((
                m.keys["organism"],
                "all critics" if without == ALL_CRITICS else f"without {without}",
                str(m.detail.get("papers")), _num(m.estimate), _ci(m), str(m.n),
                _num(acc.estimate if acc else None), _ci(acc), str(acc.n if acc else 0),
            ))
    s.tables.append(_Table(
        ("organism", "critics", "papers", "survival", "CI", "n flawed", "accepted flaw rate",
         "CI", "n accepted"), rows,
    ))
    s.figures += [f for f in figures if f.title == "Flaw survival"]
    return [out[key] for key in SECTIONS]


def _float(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def _pair(m: Metric) -> str:
    if "critic_a" in m.keys:
        return f"{m.keys['critic_a']} / {m.keys['critic_b']}"
    return "all critics"


def _header(report: RedteamReport) -> list[str]:
    return [
        f"Schema {report.schema_id} version {report.version}; intervals at {report.level:.0%}.",
        f"{report.n_trials} trials by {len(report.critics)} critics on {report.n_subjects} "
        f"subjects ({report.n_controls} clean controls); {len(report.flaw_types)} flaw types; "
        f"matcher: {', '.join(report.matchers) or 'none'}.",
    ]


def render_markdown(report: RedteamReport, figures: Sequence[FigureFile], *, base: Path) -> str:
    """The report as Markdown; figures are linked relative to `base` (the report's folder)."""
    lines = ["# Red-team report", ""] + [md_text(x) for x in _header(report)]
    for s in _sections(report, figures):
        lines += ["", f"## {s.title}", "", s.intro, ""]
        if s.key in report.empty:
            lines += [f"No data: {md_text(report.empty[s.key])}."]
            continue
        for t in s.tables:
            lines += [
                "| " + " | ".join(t.headers) + " |",  # our own words, not escaped
                "|" + "---|" * len(t.headers),
            ]
            lines += ["| " + " | ".join(md_text(c) for c in row) + " |" for row in t.rows]
            lines.append("")
        for critic, items in s.lists:
            lines += [f"Controls flagged by {md_text(critic)} ({len(items)}):", ""]
            lines += [f"- {md_text(i)}" for i in items[:LIST_LIMIT]]
            lines += [f"- ... and {len(items) - LIST_LIMIT} more (all in the JSON)"] * (
                len(items) > LIST_LIMIT
            )
            lines.append("")
        for f in s.figures:
            inside = f.path.is_relative_to(base)
            rel = f.path.relative_to(base).as_posix() if inside else f.path.name
            lines += [f"![{md_text(f.title)}]({rel})", ""]
    return "\n".join(lines).rstrip() + "\n"


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; }
.empty { color: #a33; }
"""


def render_html(report: RedteamReport, figures: Sequence[FigureFile]) -> str:
    """The report as one self-contained HTML page: inline style, figures embedded as data URIs,
    no script and no external resource."""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">",
        "<title>Red-team report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Red-team report</h1>",
    ]
    parts += [f"<p>{html_text(x)}</p>" for x in _header(report)]
    for s in _sections(report, figures):
        parts += [f"<h2>{html_text(s.title)}</h2>", f"<p>{html_text(s.intro)}</p>"]
        if s.key in report.empty:
            parts.append(f'<p class="empty">No data: {html_text(report.empty[s.key])}.</p>')
            continue
        for t in s.tables:
            parts.append("<table><thead><tr>")
            parts += [f"<th>{html_text(h)}</th>" for h in t.headers]
            parts.append("</tr></thead><tbody>")
            for row in t.rows:
                parts.append("<tr>" + "".join(f"<td>{html_text(c)}</td>" for c in row) + "</tr>")
            parts.append("</tbody></table>")
        for critic, items in s.lists:
            parts.append(f"<p>Controls flagged by {html_text(critic)} ({len(items)}):</p><ul>")
            parts += [f"<li>{html_text(i)}</li>" for i in items[:LIST_LIMIT]]
            if len(items) > LIST_LIMIT:
                parts.append(f"<li>... and {len(items) - LIST_LIMIT} more (all in the JSON)</li>")
            parts.append("</ul>")
        for f in s.figures:
            data = base64.b64encode(f.path.read_bytes()).decode("ascii")
            parts.append(
                f'<figure><img alt="{html_text(f.title)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html_text(f.title)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


@dataclass(frozen=True, kw_only=True)
class ReportFiles:
    """What `write_report` wrote."""

    json: Path
    """Every metric (`RedteamReport`)."""
    markdown: Path
    """The report in Markdown, figures linked."""
    html: Path
    """The report as one self-contained HTML page."""
    figures: list[Path]
    """The PNGs, in a `figures` folder next to the report (none with `figures=False`)."""


def write_json(report: RedteamReport, path: Path) -> Path:
    """Write the report's JSON (indented, keys in schema order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def write_report(
    analysis: Analysis,
    folder: Path,
    *,
    figures: bool = True,
    draw: Callable[[Analysis, Path], list[FigureFile]] = write_figures,
) -> ReportFiles:
    """Write the JSON, Markdown and HTML report (and, with `figures`, its PNGs) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    report = analysis.report
    drawn = draw(analysis, folder / FIGURES_DIR) if figures else []
    json_path = write_json(report, folder / JSON_NAME)
    md = folder / MARKDOWN_NAME
    md.write_text(render_markdown(report, drawn, base=folder), encoding="utf-8")
    page = folder / HTML_NAME
    page.write_text(render_html(report, drawn), encoding="utf-8")
    return ReportFiles(json=json_path, markdown=md, html=page, figures=[f.path for f in drawn])


__all__ = [
    "HTML_NAME",
    "JSON_NAME",
    "MARKDOWN_NAME",
    "ReportFiles",
    "html_text",
    "md_text",
    "render_html",
    "render_markdown",
    "write_json",
    "write_report",
]
