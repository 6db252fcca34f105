"""Examining research that was not made here: `autoalign examine PAPER [--logs DIR]`.

`read_paper` reads a paper (Markdown, LaTeX, plain text; PDF when a text extractor is
installed) and splits it at its headings; `read_logs` reads a directory of experiment logs
(JSON, CSV or TSV, text), each number with where in the file it came from. `examine` stores
both as artifacts of a run of their own (`imported_paper`, `imported_section`,
`imported_log`), builds a `PaperDraft`, runs critic #2's programmatic checks and its LLM
review, records the flaws and returns an `Examination`. The layouts are in `docs/examine.md`.
"""

from ._examine import (
    DEFAULT_MODEL,
    Examination,
    ImportedPart,
    ReportedFlaw,
    examine,
    examine_sync,
)
from ._logs import ImportedLog, ImportedValue, read_logs
from ._paper import ImportedPaper, ImportedSection, abstract_claims, read_paper

__all__ = [
    "DEFAULT_MODEL",
    "Examination",
    "ImportedLog",
    "ImportedPaper",
    "ImportedPart",
    "ImportedSection",
    "ImportedValue",
    "ReportedFlaw",
    "abstract_claims",
    "examine",
    "examine_sync",
    "read_logs",
    "read_paper",
]
