"""The summary hierarchy's links: which sources each paragraph rests on, and where each of its
numbers came from.

A writer is shown its sources with bracketed ids (`[17]` an artifact, `[17.2]` paragraph 2 of a
section artifact) and names, per paragraph, the ids it rests on. `refine_section` and
`refine_abstract` check those ids against the ones it was shown (an id it was not shown is
dropped and kept in the paragraph's trace as such) and trace every number printed in a paragraph
to the research log's entry it matches (the `sandbox_run`, arm, metric and seed), or mark it
untraced. The checked links become provenance edges (`links_of`) and a dropped id a flaw on the
section (`dropped_findings`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from ..critics import FlawCategory, LogNumber, Severity
from ..models import delimit
from ..runtime import Findings, StepResult
from ..store import Parent, Store, erased_mark
from ..vocabulary import Relation
from ._schemas import (
    Abstract,
    LinkRef,
    NumberTrace,
    ParagraphTrace,
    ProjectLog,
    RunRef,
    Section,
    StepLog,
)

NUMBER = re.compile(
    r"(?:(?<![\w.\[])-)?(?<![\w.\[])(?<![A-Za-z_]-)\d+(?:\.\d+)?%?(?![\w%])(?!\.\d)"
)
"""A number as printed: an optional minus, digits, optional decimals, an optional percent sign.
A number right after `[` is a source id, not a result, and is not traced."""

_LABEL_CHARS = 100


@dataclass(frozen=True, kw_only=True)
class Source:
    """A source a writer is shown, with the id it cites it by."""

    ref: str
    """How the prompt shows it: `17` or `17.2`."""
    artifact: int
    paragraph: int | None = None
    """The paragraph (from 1) of a section artifact, or None for the whole artifact."""
    label: str
    """What it is, on one line (shown after the id)."""


@dataclass(frozen=True, kw_only=True)
class FlawNote:
    """A flaw the write-up records on a section it wrote (e.g. a source it was not shown)."""

    category: str
    severity: str
    description: str


def _line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _LABEL_CHARS else flat[: _LABEL_CHARS - 3] + "..."


def log_sources(store: Store, log: ProjectLog) -> list[Source]:
    """The research log's citable parts: each usable step's log, its successful sandbox runs,
    its worker's report and its claims."""
    found: list[Source] = []
    for step in log.steps:
        if not step.usable:
            continue
        found.append(Source(ref=str(step.log), artifact=step.log,
                            label=f"step log: {_line(step.objective)}"))
        body = store.artifact(step.log).content_json
        kept = erased_mark(body)  # an erased step log keeps its runs (issue 14, part ER)
        runs = ([RunRef.model_validate(r) for r in kept.summary.get("runs", [])]
                if kept is not None else StepLog.model_validate(body).runs)
        found += [
            Source(ref=str(r.artifact_id), artifact=r.artifact_id,
                   label=f"sandbox run, arm {_line(r.arm)}")
            for r in runs if r.ok
        ]
        if step.report is not None:
            found.append(Source(ref=str(step.report), artifact=step.report,
                                label="worker's report"))
        found += [
            Source(ref=str(c), artifact=c, label=f"claim: {_line(store.artifact(c).content_text)}")
            for c in step.claims
        ]
    return found


def artifact_source(artifact_id: int, label: str) -> Source:
    """A whole artifact as a source."""
    return Source(ref=str(artifact_id), artifact=artifact_id, label=label)


def paragraphs(output: Section | Abstract) -> list[tuple[str, list[str]]]:
    """A section's paragraphs as (text, cited ids); an abstract is one paragraph."""
    if isinstance(output, Abstract):
        return [(output.text, list(output.sources))]
    return [(p.text, list(p.sources)) for p in output.paragraphs]


def paragraph_sources(
    result: StepResult[Section] | StepResult[Abstract], name: str
) -> list[Source]:
    """Each paragraph of a written section as a source (none if the section failed)."""
    if result.output is None:
        return []
    return [
        Source(ref=f"{result.id}.{i}", artifact=result.id, paragraph=i,
               label=f"{name} paragraph {i}")
        for i in range(1, len(paragraphs(result.output)) + 1)
    ]


def show_sources(tag: str, sources: Sequence[Source]) -> str:
    """The sources, one per line with its bracketed id, delimited as data under `tag`."""
    return delimit(tag, "\n".join(f"[{s.ref}] {s.label}" for s in sources))


_REF = re.compile(r"\s*(?:\[(\d+(?:\.\d+)?)\].*|#?(\d+(?:\.\d+)?)\s*)", flags=re.DOTALL)
"""An id as a writer names it: `17`, `#17`, `[17]`, or `[17] step log: ...` (the id as shown,
copied with its label)."""


def _normal(ref: str) -> str:
    m = _REF.fullmatch(ref)
    return (m.group(1) or m.group(2)) if m else ref


def _decimals(text: str) -> int:
    digits = text.rstrip("%")
    return len(digits.split(".", 1)[1]) if "." in digits else 0


def _matches(printed: str, value: float) -> bool:
    """`printed` shows `value`, rounded to the decimals it prints (a percent also as value x
    100); an integer must equal it."""
    x = float(printed.rstrip("%"))
    places = _decimals(printed)
    tolerance = 0.5 * 10 ** -places + 1e-9 if places else 1e-9
    candidates = [value, value * 100] if printed.endswith("%") else [value]
    return any(abs(v - x) <= tolerance for v in candidates)


def trace_numbers(
    text: str, numbers: Sequence[LogNumber], prefer: Collection[int] = ()
) -> list[NumberTrace]:
    """Every number printed in `text` with the log entry it matches, or untraced.

    Entries of a run or step log in `prefer` (what the paragraph cites) are tried first, then the
    rest of the log in its order."""
    ordered = [n for n in numbers if n.run in prefer or n.artifact_id in prefer] + [
        n for n in numbers if n.run not in prefer and n.artifact_id not in prefer
    ]
    traced: list[NumberTrace] = []
    for m in NUMBER.finditer(text):
        printed = m.group(0)
        hit = next((n for n in ordered if _matches(printed, n.value)), None)
        traced.append(NumberTrace(
            text=printed, start=m.start(), end=m.end(),
            value=hit.value if hit else None, run=hit.run if hit else None,
            step_log=hit.artifact_id if hit else None, arm=hit.arm if hit else None,
            metric=hit.metric if hit else None, seed=hit.seed if hit else None,
        ))
    return traced


def check_paragraph(
    text: str, cited: Sequence[str], shown: dict[str, Source], numbers: Sequence[LogNumber]
) -> ParagraphTrace:
    """One paragraph's checked links, dropped ids and traced numbers."""
    links: list[LinkRef] = []
    dropped: list[str] = []
    for ref in cited:
        source = shown.get(_normal(ref))
        if source is None:
            dropped.append(ref)
            continue
        link = LinkRef(artifact=source.artifact, paragraph=source.paragraph)
        if link not in links:
            links.append(link)
    return ParagraphTrace(
        links=links, dropped=dropped,
        numbers=trace_numbers(text, numbers, {link.artifact for link in links}),
    )


def refine_section(
    shown: Sequence[Source], numbers: Sequence[LogNumber]
) -> Callable[[Section], Section]:
    """The step's `refine`: a section with its paragraphs' links checked and numbers traced."""
    by_ref = {s.ref: s for s in shown}

    def refine(o: Section) -> Section:
        return o.model_copy(update={"trace": [
            check_paragraph(p.text, p.sources, by_ref, numbers) for p in o.paragraphs
        ]})

    return refine


def refine_abstract(
    shown: Sequence[Source], numbers: Sequence[LogNumber]
) -> Callable[[Abstract], Abstract]:
    """The step's `refine` for the abstract (one paragraph)."""
    by_ref = {s.ref: s for s in shown}

    def refine(o: Abstract) -> Abstract:
        return o.model_copy(
            update={"trace": [check_paragraph(o.text, o.sources, by_ref, numbers)]}
        )

    return refine


def links_of(output: Section | Abstract) -> list[Parent]:
    """The provenance edges a refined section's links name (relation `cites`)."""
    seen: dict[int, None] = {}
    for t in output.trace:
        for link in t.links:
            seen.setdefault(link.artifact)
    return [(a, Relation.CITES) for a in seen]


def dropped_findings(result: StepResult[Section] | StepResult[Abstract]) -> Findings | None:
    """A flaw on the section for each paragraph that cited an id its writer was not shown."""
    if result.output is None:
        return None
    notes = [
        FlawNote(
            category=FlawCategory.HALLUCINATED_REFERENCE.value,
            severity=Severity.MINOR.value,
            description=f"paragraph {i} cites {', '.join(repr(d) for d in t.dropped)}, which "
            "its writer was not shown; the link was dropped",
        )
        for i, t in enumerate(result.output.trace, start=1) if t.dropped
    ]
    return Findings(about=result.id, flaws=notes) if notes else None


def render_section(o: Section) -> str:
    """A section as text: its title, then its paragraphs."""
    return o.title + "\n\n" + "\n\n".join(p.text for p in o.paragraphs)


def render_abstract(o: Abstract) -> str:
    """The abstract as text: title, text and claims."""
    return f"{o.title}\n\n{o.text}\n\nClaims:\n" + "\n".join(
        f"- {c.text} (p={c.probability_percent}%)" for c in o.claims
    )


def show_paragraphs(tag: str, result: StepResult[Section] | StepResult[Abstract]) -> str:
    """A written section for the next writer: each paragraph after its bracketed id, delimited
    as data under `tag`."""
    sources = paragraph_sources(result, tag)
    return delimit(tag, "\n\n".join(
        f"[{s.ref}] {text}" for s, (text, _) in zip(
            sources, paragraphs(result.output) if result.output else [], strict=True
        )
    ))


__all__ = [
    "NUMBER", "FlawNote", "Source", "artifact_source", "check_paragraph", "dropped_findings",
    "links_of", "log_sources", "paragraph_sources", "paragraphs", "refine_abstract",
    "refine_section", "render_abstract", "render_section", "show_paragraphs", "show_sources",
    "trace_numbers",
]
