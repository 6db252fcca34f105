"""Critic #2, programmatic: numbers the log never held, claims stronger than their evidence,
an abstract that says more than the main text (the rules are in `docs/flaws.md`)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import ClassVar

from ._finding import Finding, Location
from ._numbers import comparisons, printed_numbers, unmatched_numbers
from ._paper import EvidenceClaim, LogNumber, PaperDraft, PaperSection
from ._programmatic import ProgrammaticCritic
from ._protocol import CriticScale, register_critic
from ._taxonomy import FlawCategory, Severity

CONFIDENT = 0.9
"""A paper probability at or beyond this (p >= 0.9, or p <= 0.1 for a confident no) needs
decisive evidence."""

PROOF_WORDS = re.compile(
    r"\b(?:prove[sdn]?|proving|proof that|demonstrat(?:es|ed|e|ing)|establish(?:es|ed)?|"
    r"confirm(?:s|ed)?|show(?:s|ed|n)? that|conclusively|definitively|certainly|undeniabl[ye]|"
    r"beyond (?:any |reasonable )?doubt)\b",
    re.IGNORECASE,
)
"""Wording that presents a result as settled."""

_WORD = re.compile(r"[A-Za-z]+")
_STOP = frozenset(re.findall(r"\w+", (
    "that this with from have were more than when which their there these those into under "
    "over also does will would could should been being very much most some such only about "
    "paper study result results find finds found show shows"
)))


def _context(text: str, start: int, end: int) -> str:
    """The text around a span, on one line."""
    return "…" + " ".join(text[max(0, start - 60):end + 20].split()) + "…"


def log_references(paper: PaperDraft) -> list[float]:
    """Every number the paper may quote: each log value; per arm of a metric its mean (the
    logged one, else the mean of its seeds) and, over two or more seeds, its standard error;
    between arms of one metric the difference and relative change of means, both ways round;
    and each research claim's estimate, interval ends, probability and threshold."""
    values = [n.value for n in paper.numbers]
    arms: dict[tuple[str, int, str], list[LogNumber]] = {}
    for n in paper.numbers:
        arms.setdefault((n.metric, n.artifact_id, n.arm), []).append(n)
    means: dict[str, list[float]] = {}
    for (metric, _, _), rows in arms.items():
        logged = [r.value for r in rows if r.seed is None]
        seeds = [r.value for r in rows if r.seed is not None]
        mean = logged[0] if logged else (math.fsum(seeds) / len(seeds) if seeds else None)
        if mean is None:
            continue
        values.append(mean)
        means.setdefault(metric, []).append(mean)
        if len(seeds) >= 2:
            m = math.fsum(seeds) / len(seeds)
            sd = math.sqrt(math.fsum((v - m) ** 2 for v in seeds) / (len(seeds) - 1))
            values.append(sd / math.sqrt(len(seeds)))
    values.extend(comparisons(means.values()))
    for c in paper.evidence:
        values.extend(
            v for v in (c.estimate, c.ci_low, c.ci_high, c.probability, c.threshold)
            if v is not None
        )
    return [v for v in values if math.isfinite(v)]


def _nearest(numbers: Iterable[LogNumber], printed: str) -> str:
    try:
        target = abs(float(printed.rstrip("%").replace("\u2212", "-")))
    except ValueError:
        return ""
    if printed.endswith("%"):
        target /= 100.0
    best = min(numbers, key=lambda n: abs(abs(n.value) - target), default=None)
    return f"; nearest log value: {best.describe()}" if best is not None else ""


@register_critic
class PaperNumbersMatch(ProgrammaticCritic[PaperDraft]):
    """Every decimal number in the paper must round from a number of its research log."""

    id = "c2.numbers-match"
    version = "1"
    scale: ClassVar[CriticScale] = CriticScale.PAPER
    checks: ClassVar[tuple[str, ...]] = (
        "abstract", "introduction", "main_text", "appendix", "step_log", "experiment_claim",
    )
    description = (
        "a decimal number in the paper that is no rounding of a log value, of a difference or "
        "relative change between arms, or of a claim's estimate, interval or probability"
    )

    def rule(self, subject: PaperDraft) -> list[Finding]:
        if not subject.numbers:
            return []  # nothing to compare with: an import without logs
        references = log_references(subject)
        findings: list[Finding] = []
        for section in subject.sections:
            for start, end, number in unmatched_numbers(section.text, references):
                findings.append(Finding(
                    category=FlawCategory.NUMBER_MISMATCH,
                    severity=Severity.CRITICAL if section.name == "abstract" else Severity.MAJOR,
                    description=f"the {_label(section)} says {number}, which is no rounding of "
                    "any number in the research log, nor of a difference or relative change "
                    "between arms, nor of a claim's estimate, interval or probability",
                    evidence=_context(section.text, start, end)
                    + _nearest(subject.numbers, number),
                    location=Location(
                        artifact_id=section.artifact_id, field="text", start=start, end=end
                    ),
                ))
        return findings


def _label(section: PaperSection) -> str:
    name = section.name.replace("_", " ")
    return f"{name} ({section.heading})" if section.heading else name


def _stem(word: str) -> str:
    w = word.lower()
    for suffix, repl in (("ing", ""), ("ies", "y"), ("es", ""), ("ed", ""), ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)] + repl
            break
    return w[:5]


def content_words(text: str) -> set[str]:
    """The crude stems (one suffix off, first five letters) of the words of four or more
    letters that are not common function words."""
    return {
        _stem(w) for w in _WORD.findall(text)
        if len(w) >= 4 and w.lower() not in _STOP
    }


def _is_about(claim_text: str, evidence: EvidenceClaim) -> bool:
    """Whether a paper claim names the research claim's treated arm (else its question id)."""
    name = evidence.treated_arm or (evidence.question or "").split("/")[-1]
    return bool(content_words(claim_text) & content_words(name.replace("_", " ")))


def decisive(claim: EvidenceClaim) -> str | None:
    """Why `claim` cannot carry a confident statement, or None when it can: a finite ordered
    interval wholly on one side of its threshold (zero when unknown), on two or more seeds."""
    low, high = claim.ci_low, claim.ci_high
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "it has no interval"
    if low > high:
        return "its interval ends are reversed"
    line = claim.threshold if claim.threshold is not None else 0.0
    if low <= line <= high:
        what = "the question's threshold" if claim.threshold is not None else "zero"
        return f"its interval [{low:g}, {high:g}] crosses {what} ({line:g})"
    if claim.seeds is None:
        return "its seeds are unknown"
    if claim.seeds < 2:
        return f"it rests on {claim.seeds} seed"
    return None


def _weakness(evidence: list[EvidenceClaim]) -> str | None:
    if not evidence:
        return "the research holds no claim with an interval"
    for c in evidence:
        why = decisive(c)
        if why is not None:
            what = c.question or c.text or "no question"
            return f"claim artifact {c.artifact_id} ({what}): {why}"
    return None


@register_critic
class ClaimStrength(ProgrammaticCritic[PaperDraft]):
    """A confident probability or proof wording needs decisive evidence."""

    id = "c2.claim-strength"
    version = "1"
    scale: ClassVar[CriticScale] = CriticScale.PAPER
    checks: ClassVar[tuple[str, ...]] = ("abstract", "experiment_claim", "step_log")
    description = (
        "a paper claim given a probability of 0.9 or more (0.1 or less), or worded as proven, "
        "while an interval behind it crosses the threshold, or rests on one seed"
    )

    def rule(self, subject: PaperDraft) -> list[Finding]:
        findings: list[Finding] = []
        abstract = subject.section("abstract")
        evidence = list(subject.evidence)
        for i, claim in enumerate(subject.claims):
            p = claim.probability
            if CONFIDENT > p > 1.0 - CONFIDENT:
                continue
            about = [c for c in evidence if _is_about(claim.text, c)] or evidence
            why = _weakness(about)
            if why is None:
                continue
            findings.append(Finding(
                category=FlawCategory.OVERCLAIMING, severity=Severity.MAJOR,
                description=f"the paper gives the claim probability {p:.2f}, stronger than its "
                "evidence allows",
                evidence=f"claim: {claim.text!r}; {why}",
                location=Location(
                    artifact_id=abstract.artifact_id if abstract else subject.paper_id,
                    field=f"claims[{i}]",
                ),
            ))
        for section in subject.sections_named("abstract"):
            for m in PROOF_WORDS.finditer(section.text):
                why = _weakness(evidence)
                if why is None:
                    break
                findings.append(Finding(
                    category=FlawCategory.OVERCLAIMING, severity=Severity.MAJOR,
                    description=f"the abstract says {m.group(0)!r}, wording stronger than its "
                    "evidence allows",
                    evidence=f"{_context(section.text, m.start(), m.end())}; {why}",
                    location=Location(artifact_id=section.artifact_id, field="text",
                                      start=m.start(), end=m.end()),
                ))
        return findings


@register_critic
class AbstractScope(ProgrammaticCritic[PaperDraft]):
    """The abstract states no number and no claim that the main text does not contain."""

    id = "c2.abstract-scope"
    version = "1"
    scale: ClassVar[CriticScale] = CriticScale.PAPER
    checks: ClassVar[tuple[str, ...]] = ("abstract", "main_text")
    description = "a number or a claim in the abstract that the main text does not contain"

    def rule(self, subject: PaperDraft) -> list[Finding]:
        main = "\n\n".join(s.text for s in subject.sections_named("main_text"))
        if not main.strip():
            return []  # no main text to compare with
        findings: list[Finding] = []
        in_main = printed_numbers(main)
        words = content_words(main)
        abstracts = subject.sections_named("abstract")
        for section in abstracts:
            for start, end, number in unmatched_numbers(section.text, in_main):
                findings.append(Finding(
                    category=FlawCategory.SUMMARY_DRIFT, severity=Severity.MAJOR,
                    description=f"the abstract says {number}, a number the main text does not "
                    "contain (at the abstract's precision)",
                    evidence=_context(section.text, start, end),
                    location=Location(artifact_id=section.artifact_id, field="text",
                                      start=start, end=end),
                ))
        where = abstracts[0].artifact_id if abstracts else subject.paper_id
        for i, claim in enumerate(subject.claims):
            stated = content_words(claim.text)
            missing = sorted(stated - words)
            if stated and len(missing) * 2 > len(stated):
                findings.append(Finding(
                    category=FlawCategory.SUMMARY_DRIFT, severity=Severity.MAJOR,
                    description="the abstract makes a claim the main text does not contain",
                    evidence=f"claim: {claim.text!r}; not in the main text: "
                    + ", ".join(missing),
                    location=Location(artifact_id=where, field=f"claims[{i}]"),
                ))
        return findings
