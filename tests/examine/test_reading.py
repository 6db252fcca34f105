"""Reading papers and logs written elsewhere: sections at headings, numbers with their place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autoalign.errors import UsageError
from autoalign.examine import _paper as paper_module
from autoalign.examine import read_logs, read_paper

MARKDOWN = """\
# Penalties and hacking

## Abstract

The penalty cut hacking to 0.12.

- The repeat penalty cuts hacking (p=80%)
- Noise does nothing (p=0.3)

## 1. Introduction

Hacking is common.

## 2 Method

```
## not a heading inside code
```

## 3. Results

Hacking fell to 0.12.

## References

Smith 2021, arXiv:2101.00001.

## Appendix A: Seeds

Seed values 0.10 and 0.14.
"""

LATEX = r"""\documentclass{article}
\title{Penalties and hacking}
\begin{document}
\maketitle
\begin{abstract}
The penalty cut hacking to 0.12. % a comment 9.99
\end{abstract}
\section{Introduction}
Hacking is common.
\section*{Results}
Hacking fell to 0.12.
\appendix
\section{Seeds}
Seed values 0.10 and 0.14.
\end{document}
"""

PLAIN = """Penalties and hacking

The penalty cut hacking to 0.12.

1. Introduction
Hacking is common.

Results
=======
Hacking fell to 0.12.

Appendix
Seed values 0.10 and 0.14.
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_markdown_is_split_at_its_headings_with_roles_and_claims(tmp_path: Path) -> None:
    paper = read_paper(_write(tmp_path, "p.md", MARKDOWN))
    assert (paper.title, paper.format, paper.source) == (
        "Penalties and hacking", "markdown", "p.md"
    )
    assert [(s.name, s.heading) for s in paper.sections] == [
        ("abstract", "Abstract"), ("introduction", "Introduction"), ("main_text", "Method"),
        ("main_text", "Results"), ("appendix", "Appendix A: Seeds"),
    ]
    assert "## not a heading inside code" in paper.sections[2].text
    assert all("arXiv" not in s.text for s in paper.sections)  # references are left out
    assert [(c.text, c.probability) for c in paper.claims] == [
        ("The repeat penalty cuts hacking", 0.8), ("Noise does nothing", 0.3)
    ]


def test_latex_abstract_sections_and_appendix(tmp_path: Path) -> None:
    paper = read_paper(_write(tmp_path, "p.tex", LATEX))
    assert paper.title == "Penalties and hacking" and paper.format == "latex"
    assert [(s.name, s.heading) for s in paper.sections] == [
        ("abstract", "Abstract"), ("introduction", "Introduction"), ("main_text", "Results"),
        ("appendix", "Appendix Seeds"),
    ]
    assert "0.12" in paper.sections[0].text and "9.99" not in paper.sections[0].text


def test_plain_text_headings_known_names_or_underlined(tmp_path: Path) -> None:
    paper = read_paper(_write(tmp_path, "p.txt", PLAIN))
    assert paper.title == "Penalties and hacking"
    assert [(s.name, s.heading) for s in paper.sections] == [
        ("abstract", "Abstract"), ("introduction", "Introduction"), ("main_text", "Results"),
        ("appendix", "Appendix"),
    ]
    assert paper.sections[0].text == "The penalty cut hacking to 0.12."


def test_a_pdf_without_an_extractor_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_module(name: str) -> object:
        raise ImportError(name)

    monkeypatch.setattr(paper_module.importlib, "import_module", no_module)
    monkeypatch.setattr(paper_module.shutil, "which", lambda _name: None)
    path = tmp_path / "p.pdf"
    path.write_bytes(b"%PDF-1.4\n")
    with pytest.raises(UsageError, match="no text extractor is installed: install pypdf"):
        read_paper(path)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("p.docx", "x", r"must end in one of .*\.md"),
    ("p.md", "   \n", "holds no text"),
    ("missing.md", None, "no paper file"),
])
def test_unreadable_papers_are_named(
    tmp_path: Path, name: str, content: str | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError, match=message):
        read_paper(path)


def test_logs_csv_json_and_text_with_where_each_number_came_from(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "sub").mkdir(parents=True)
    (logs / "a.csv").write_text("arm,seed,hacking_rate,note\npenalty,0,0.12,ok\nbaseline,0,30%,\n")
    (logs / "b.json").write_text(json.dumps({
        "runs": [{"arm": "penalty", "seed": 1, "hacking_rate": 0.1, "extra": {"loss": 2.5}}],
        "total_steps": 1000,
    }))
    (logs / "sub" / "c.log").write_text("step 3 seed=2 acc=0.91 loss: 1.5\nfinal 0.77\n")
    (logs / "sub" / "result.json").write_text(json.dumps({
        "spec": {"intervention": None, "seeds": [0, 1]},
        "per_seed": [{"hacking_rate": 0.3}, {"hacking_rate": 0.34}],
        "mean": {"hacking_rate": 0.32}, "se": {"hacking_rate": 0.02},
    }))
    (logs / "ignored.png").write_bytes(b"\x89PNG")
    read = {log.source: log for log in read_logs(logs)}
    assert list(read) == ["a.csv", "b.json", "sub/c.log", "sub/result.json"]
    got = {s: [(v.arm, v.metric, v.seed, v.value, v.where) for v in log.values]
           for s, log in read.items()}
    assert got["a.csv"] == [
        ("penalty", "hacking_rate", 0, 0.12, "a.csv line 2, field hacking_rate"),
        ("baseline", "hacking_rate", 0, 0.3, "a.csv line 3, field hacking_rate"),
    ]
    assert got["b.json"] == [
        ("penalty", "hacking_rate", 1, 0.1, "b.json runs.0, field hacking_rate"),
        ("penalty", "extra.loss", 1, 2.5, "b.json runs.0, field extra.loss"),
        ("", "total_steps", None, 1000.0, "b.json, field total_steps"),
    ]
    assert got["sub/c.log"] == [
        ("", "acc", 2, 0.91, "sub/c.log line 1"), ("", "loss", 2, 1.5, "sub/c.log line 1"),
        ("", "value", None, 0.77, "sub/c.log line 2"),
    ]
    assert [(v.arm, v.metric, v.seed, v.value) for v in read["sub/result.json"].values] == [
        ("baseline", "hacking_rate", 0, 0.3), ("baseline", "hacking_rate", 1, 0.34),
        ("baseline", "hacking_rate", None, 0.32), ("baseline", "hacking_rate se", None, 0.02),
    ]


def test_bad_logs_are_named(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UsageError, match=r"log bad.json is not valid JSON \(line 1"):
        read_logs(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError, match="no log file in 'empty'"):
        read_logs(empty)
    with pytest.raises(UsageError, match="--logs must be a directory"):
        read_logs(tmp_path / "bad.json")
