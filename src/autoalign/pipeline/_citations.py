"""The shallow check that the artifact ids a model cites exist in the research database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..critics import FlawCategory, Severity
from ..store import Store


@dataclass(frozen=True, kw_only=True)
class CitationFlaw:
    """A cited artifact id that names nothing in the database (a `Findings` flaw)."""

    category: str
    severity: str
    description: str


def missing_citations(store: Store, cited: Sequence[int]) -> list[int]:
    """The ids in `cited` that name no stored artifact, in the order cited, each once."""
    found = store.existing_artifacts(cited)
    missing: list[int] = []
    for i in cited:
        if i not in found and i not in missing:
            missing.append(i)
    return missing


def citation_flaws(store: Store, cited: Sequence[int], *, where: str) -> list[CitationFlaw]:
    """One `hallucinated_reference` flaw (major) per cited id that does not exist; `where` names
    the section that cites it (e.g. "related work")."""
    return [
        CitationFlaw(
            category=FlawCategory.HALLUCINATED_REFERENCE.value,
            severity=Severity.MAJOR.value,
            description=f"{where} cites artifact {i}, which does not exist in the research "
            "database",
        )
        for i in missing_citations(store, cited)
    ]


__all__ = ["CitationFlaw", "citation_flaws", "missing_citations"]
