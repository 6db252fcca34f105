"""Reading a paper written elsewhere: Markdown, LaTeX, plain text, or PDF through an installed
text extractor; split into sections at its headings (the layouts are in `docs/examine.md`)."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..critics import PaperClaim, SectionName
from ..errors import DataError, UsageError

PaperFormat = Literal["markdown", "latex", "text", "pdf"]
"""How a paper file is read, chosen by its suffix."""

FORMATS: dict[str, PaperFormat] = {
    ".md": "markdown", ".markdown": "markdown", ".tex": "latex", ".txt": "text", ".text": "text",
    ".pdf": "pdf",
}
"""File suffix → format; any other suffix is an error that lists these."""

MAX_PAPER_BYTES = 5_000_000
"""Largest paper file read."""

_KNOWN = (
    "abstract", "introduction", "background", "related work", "method", "methods",
    "methodology", "approach", "setup", "experimental setup", "experiments", "experiment",
    "results", "evaluation", "analysis", "discussion", "limitations", "conclusion",
    "conclusions", "future work", "appendix", "supplementary material", "references",
    "bibliography", "acknowledgements", "acknowledgments",
)
_NUMBERING = re.compile(r"^(?:(?:\d+(?:\.\d+)*|[ivxlcIVXLC]+|[A-Z])[.)]?\s+)")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_TEX_HEADING = re.compile(
    r"\\(section|subsection|subsubsection|paragraph|chapter)\*?\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}"
)
_TEX_ABSTRACT = re.compile(r"\\begin\{abstract\}(.*?)\\end\{abstract\}", re.DOTALL)
_TEX_TITLE = re.compile(r"\\title\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}")
_CLAIM = re.compile(
    r"^\s*[-*]\s+(?P<text>.+?)\s*\(\s*p\s*=\s*(?P<p>\d+(?:\.\d+)?)\s*(?P<pct>%?)\s*\)\s*\.?\s*$",
    re.MULTILINE,
)


@dataclass(frozen=True, kw_only=True)
class ImportedSection:
    """One section of an imported paper."""

    name: SectionName
    """Its role in the paper: `abstract`, `introduction`, `appendix`, else `main_text`."""
    heading: str
    """The heading as the paper gives it (numbering stripped); `Abstract` for a LaTeX abstract
    or the text before the first heading."""
    text: str
    """The heading and the section's text."""


@dataclass(frozen=True, kw_only=True)
class ImportedPaper:
    """A paper as read from a file."""

    source: str
    """The file's name (not its path)."""
    format: PaperFormat
    """How it was read."""
    title: str
    """Its title (the first top-level heading, `\\title`, or the file's stem)."""
    text: str
    """The whole text as read (a PDF's extracted text)."""
    sections: tuple[ImportedSection, ...]
    """The sections checked, in order; references, bibliography and acknowledgements are
    left out (their years and identifiers are not results)."""
    claims: tuple[PaperClaim, ...]
    """Claims the abstract lists as `- text (p=NN%)` lines."""


def _role(heading: str, *, after_appendix: bool) -> SectionName | None:
    """The section name a heading maps to; None for a section left out."""
    words = heading.lower().strip().rstrip(":.")
    if words.startswith(("references", "bibliography", "acknowledg")):
        return None
    if words.startswith(("appendix", "supplementary")) or after_appendix:
        return "appendix"
    if words == "abstract":
        return "abstract"
    if words == "introduction":
        return "introduction"
    return "main_text"


def _clean_heading(raw: str) -> str:
    return _NUMBERING.sub("", raw.strip()).strip()


def _split(
    chunks: list[tuple[str | None, str]], *, title: str
) -> tuple[ImportedSection, ...]:
    """Sections from (heading or None for the text before the first heading, body) pairs."""
    sections: list[ImportedSection] = []
    after_appendix = False
    has_abstract = any(h is not None and _clean_heading(h).lower() == "abstract" for h, _ in chunks)
    for heading, body in chunks:
        if heading is None:
            body = body.strip()
            if body.startswith(title):
                body = body[len(title):]
            if body.strip() and not has_abstract:
                sections.append(ImportedSection(name="abstract", heading="Abstract",
                                                text=body.strip()))
            continue
        clean = _clean_heading(heading)
        if clean == title and not body.strip():
            continue
        role = _role(clean, after_appendix=after_appendix)
        after_appendix = after_appendix or role == "appendix"
        if role is None:
            continue
        sections.append(ImportedSection(name=role, heading=clean,
                                        text=f"{clean}\n\n{body.strip()}".strip()))
    return tuple(sections)


def _markdown(text: str, *, fallback_title: str) -> tuple[str, list[tuple[str | None, str]]]:
    chunks: list[tuple[str | None, list[str]]] = [(None, [])]
    title: str | None = None
    in_code = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        m = None if in_code else _MD_HEADING.match(line)
        if m is None:
            chunks[-1][1].append(line)
            continue
        heading = m.group(2)
        if title is None and len(m.group(1)) == 1 and _clean_heading(heading).lower() not in _KNOWN:
            title = heading.strip()
            continue
        chunks.append((heading, []))
    return title or fallback_title, [(h, "\n".join(body)) for h, body in chunks]


def _latex(text: str, *, fallback_title: str) -> tuple[str, list[tuple[str | None, str]]]:
    text = re.sub(r"(?<!\\)%.*", "", text)  # comments
    found = _TEX_TITLE.search(text)
    title = found.group(1).strip() if found else fallback_title
    chunks: list[tuple[str | None, str]] = []
    abstract = _TEX_ABSTRACT.search(text)
    if abstract:
        chunks.append(("Abstract", abstract.group(1)))
        text = text[: abstract.start()] + text[abstract.end():]
    begin = text.find("\\begin{document}")
    body = text[begin + len("\\begin{document}"):] if begin >= 0 else text
    body = body.split("\\end{document}")[0]
    marks = list(_TEX_HEADING.finditer(body))
    if not marks:
        chunks.append((None, body))
    else:
        chunks.append((None, body[: marks[0].start()] if not abstract else ""))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        heading = m.group(2)
        if heading.lower().startswith("appendix") or "\\appendix" in body[: m.start()]:
            heading = heading if heading.lower().startswith("appendix") else f"Appendix {heading}"
        chunks.append((heading, body[m.end():end]))
    return title, chunks


def _is_text_heading(line: str, nxt: str) -> bool:
    stripped = line.strip()
    if not stripped or len(stripped) > 80 or stripped.endswith((".", ",", ";")):
        return False
    if set(nxt.strip()) in ({"="}, {"-"}) and len(nxt.strip()) >= 3:
        return True  # an underlined heading
    return _clean_heading(stripped).lower().rstrip(":") in _KNOWN


def _plain(text: str, *, fallback_title: str) -> tuple[str, list[tuple[str | None, str]]]:
    lines = text.splitlines()
    chunks: list[tuple[str | None, list[str]]] = [(None, [])]
    skip = False
    for i, line in enumerate(lines):
        if skip:
            skip = False
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _is_text_heading(line, nxt):
            chunks.append((line.strip().rstrip(":"), []))
            skip = set(nxt.strip()) in ({"="}, {"-"}) and len(nxt.strip()) >= 3
            continue
        chunks[-1][1].append(line)
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    title = first if first and len(first) <= 200 else fallback_title
    return title, [(h, "\n".join(body)) for h, body in chunks]


def pdf_text(path: Path) -> str:
    """The text of a PDF, through `pypdf` if it is installed, else poppler's `pdftotext`.

    Raises:
        UsageError: neither is installed (the message names both), or extraction failed.
    """
    try:
        # Optional, not a dependency of autoalign; imported by name so that it stays optional.
        pypdf: Any = importlib.import_module("pypdf")
    except ImportError:
        pypdf = None
    if pypdf is not None:
        try:
            reader = pypdf.PdfReader(str(path))
            return "\n".join(page.extract_text() or "" for page in reader.pages)
        except Exception as exc:  # pypdf raises many types on a damaged file
            raise UsageError(f"cannot extract the text of {path.name}: {exc}") from exc
    tool = shutil.which("pdftotext")
    if tool is None:
        raise UsageError(
            f"{path.name} is a PDF and no text extractor is installed: install pypdf "
            "(pip install pypdf) or poppler's pdftotext, or give the paper as Markdown, LaTeX "
            "or plain text"
        )
    done = subprocess.run(  # a fixed tool on a local file, no shell
        [tool, "-layout", str(path), "-"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise UsageError(f"pdftotext could not read {path.name}: {done.stderr.strip()[:200]}")
    return done.stdout


def abstract_claims(text: str) -> tuple[PaperClaim, ...]:
    """Claims listed as `- text (p=NN%)` or `- text (p=0.NN)` lines."""
    claims = []
    for m in _CLAIM.finditer(text):
        p = float(m.group("p"))
        if m.group("pct") or p > 1.0:
            p /= 100.0
        if 0.0 <= p <= 1.0:
            claims.append(PaperClaim(text=m.group("text"), probability=p))
    return tuple(claims)


def read_paper(path: Path) -> ImportedPaper:
    """Read and split the paper at `path` (its format from its suffix).

    Raises:
        UsageError: the file is missing, too large, of an unknown format, not UTF-8 text, a PDF
            with no text extractor installed, or has no text at all.
    """
    if not path.is_file():
        raise UsageError(f"no paper file at {path.name!r}; give the path of a .md, .tex, .txt "
                         "or .pdf file")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"cannot read {path.name!r}: the paper must end in one of "
            f"{', '.join(sorted(FORMATS))} (Markdown, LaTeX, plain text, PDF)"
        )
    if path.stat().st_size > MAX_PAPER_BYTES:
        raise UsageError(f"{path.name} is larger than {MAX_PAPER_BYTES} bytes; give the text only")
    if fmt == "pdf":
        text = pdf_text(path)
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path.name} is not UTF-8 text ({exc.reason} at byte "
                             f"{exc.start}); save it as UTF-8") from None
    if not text.strip():
        raise UsageError(f"{path.name} holds no text")
    readers = {"markdown": _markdown, "latex": _latex, "text": _plain, "pdf": _plain}
    title, chunks = readers[fmt](text, fallback_title=path.stem)
    sections = _split(chunks, title=title)
    if not sections:
        raise DataError(f"{path.name}: found no section to check (see docs/examine.md)")
    abstract = next((s for s in sections if s.name == "abstract"), None)
    return ImportedPaper(
        source=path.name, format=fmt, title=title, text=text, sections=sections,
        claims=abstract_claims(abstract.text) if abstract else (),
    )
