"""Programmatic injectors of paper flaws: each edits one span of one section of a clean
`PaperDraft` (or one of its claims), leaving its research log as it was."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

from ..critics import PaperDraft
from ._change import Injected, replace_text
from ._flaws import flaw_type
from ._registry import injector
from ._subjects import Subject

NUMBER = re.compile(r"(?<![\w.-])(-?\d+\.(\d+))(%?)(?!\w)")
"""A decimal number as the critics read one (digits, a point, digits, an optional `%`)."""


def _numbers(paper: PaperDraft, sections: tuple[str, ...] | None = None
             ) -> Iterator[tuple[int, re.Match[str]]]:
    for i, section in enumerate(paper.sections):
        if sections is None or section.name in sections:
            for m in NUMBER.finditer(section.text):
                yield i, m


def _value(m: re.Match[str]) -> float:
    return float(m.group(1)) / (100 if m.group(3) else 1)


def _printed(value: float, m: re.Match[str]) -> str:
    decimals = len(m.group(2))
    shown = value * (100 if m.group(3) else 1)
    return f"{shown:.{decimals}f}{m.group(3)}"


def _rounds_to(printed: str, value: float) -> bool:
    m = NUMBER.fullmatch(printed)
    if m is None:
        return False
    decimals = len(m.group(2)) + (2 if m.group(3) else 0)
    return bool(abs(abs(_value(m)) - abs(value)) <= 0.5 * 10.0 ** -decimals + 1e-12)


def _section(paper: PaperDraft, i: int, start: int, end: int, new: str, flaw: str,
             description: str) -> Injected[PaperDraft]:
    return replace_text(paper, flaw_type(flaw), artifact_id=paper.sections[i].artifact_id,
                        path=f"sections.{i}.text", start=start, end=end, new=new,
                        description=description)


@injector("number-differs-from-log")
def number_differs(subject: Subject, rng: random.Random) -> Injected[PaperDraft] | None:
    """A printed number changed to a value the log does not hold."""
    if not isinstance(subject, PaperDraft):
        return None
    found = list(_numbers(subject))
    rng.shuffle(found)
    logged = [n.value for n in subject.numbers]
    for i, m in found:
        value = _value(m)
        factors = [1.5, 0.5, 1.25, 0.75, 2.0]
        rng.shuffle(factors)
        for f in factors:
            new = _printed(value * f, m)
            if new != m.group(0) and not any(_rounds_to(new, v) for v in logged):
                return _section(subject, i, m.start(), m.end(), new, "number-differs-from-log",
                                f"changed {m.group(0)} to {new}, which the log does not hold")
    return None


@injector("best-seed-as-typical")
def best_seed(subject: Subject, rng: random.Random) -> Injected[PaperDraft] | None:
    """An arm's mean, where the paper prints it, replaced by its most favourable seed."""
    if not isinstance(subject, PaperDraft) or not subject.numbers:
        return None
    lower = any(e.estimate is not None and e.estimate < 0 for e in subject.evidence)
    treated = {e.treated_arm for e in subject.evidence if e.treated_arm}
    options = []
    means = [n for n in subject.numbers if n.seed is None and (not treated or n.arm in treated)]
    for mean in means:
        seeds = [n.value for n in subject.numbers if n.seed is not None and n.arm == mean.arm
                 and n.metric == mean.metric and n.artifact_id == mean.artifact_id]
        if len(seeds) < 2:
            continue
        best = min(seeds) if lower else max(seeds)
        for i, m in _numbers(subject, ("abstract", "main_text")):
            if _rounds_to(m.group(0), mean.value) and _printed(best, m) != m.group(0):
                options.append((i, m, best, mean))
    if not options:
        return None
    i, m, best, mean = rng.choice(options)
    new = _printed(best, m)
    return _section(subject, i, m.start(), m.end(), new, "best-seed-as-typical",
                    f"reported {mean.arm}'s best seed ({new}) where its mean of {mean.metric} "
                    f"({m.group(0)}) was")


def _end_of(paper: PaperDraft, name: str) -> tuple[int, int] | None:
    for i, section in enumerate(paper.sections):
        if section.name == name:
            return i, len(section.text.rstrip())
    return None


@injector("overbroad-claim")
def overbroad_claim(subject: Subject, rng: random.Random) -> Injected[PaperDraft] | None:
    """A sentence in the main text generalising beyond the settings tested."""
    if not isinstance(subject, PaperDraft):
        return None
    at = _end_of(subject, "main_text")
    if at is None:
        return None
    new = rng.choice([
        " The repeat penalty will remove reward hacking in any reinforcement learning system, "
        "at any scale.",
        " These results hold across all testbeds, model families and training regimes.",
    ])
    return _section(subject, at[0], at[1], at[1], new, "overbroad-claim",
                    "added a conclusion broader than the one testbed and three seeds tested")


@injector("missing-alternative")
def missing_alternative(subject: Subject, rng: random.Random) -> Injected[PaperDraft] | None:
    """A sentence ruling out every other explanation without argument."""
    if not isinstance(subject, PaperDraft):
        return None
    at = _end_of(subject, "main_text")
    if at is None:
        return None
    new = rng.choice([
        " No other explanation fits: the penalty alone caused the drop.",
        " Since nothing else differed between the arms, the penalty must be the cause.",
    ])
    return _section(subject, at[0], at[1], at[1], new, "missing-alternative",
                    "dismissed every alternative explanation without considering one")


@injector("abstract-exceeds-main")
def abstract_exceeds(subject: Subject, rng: random.Random) -> Injected[PaperDraft] | None:
    """The abstract states a result or a claim that the main text does not."""
    if not isinstance(subject, PaperDraft):
        return None
    index = next((i for i, s in enumerate(subject.sections) if s.name == "abstract"), None)
    if index is None:
        return None
    text = subject.sections[index].text
    cut = text.find("\n\nClaims:")
    at = cut if cut >= 0 else len(text.rstrip())
    main = " ".join(s.text for s in subject.sections if s.name == "main_text")
    unprinted = [n for n in subject.numbers if n.seed is not None
                 and f"{n.value:.2f}" not in main]
    options = [(" It also improves calibration on held-out tasks.",
                "the abstract claims a result (calibration) the main text never reports")]
    if unprinted:
        n = rng.choice(unprinted)
        options.append((f" On its best seed {n.metric.replace('_', ' ')} was {n.value:.2f}.",
                        f"the abstract quotes a seed's value ({n.value:.2f}) the main text "
                        "does not"))
    new, description = rng.choice(options)
    return _section(subject, index, at, at, new, "abstract-exceeds-main", description)


INTERVAL = re.compile(r"\s*\(95% (?:confidence )?interval[^)]*\)")


@injector("no-interval-or-n1")
def no_interval(subject: Subject, rng: random.Random) -> Injected[PaperDraft] | None:
    """An interval the paper prints is deleted, leaving the estimate bare."""
    if not isinstance(subject, PaperDraft):
        return None
    found = [(i, m) for i, s in enumerate(subject.sections) for m in INTERVAL.finditer(s.text)]
    if not found:
        return None
    i, m = rng.choice(found)
    return _section(subject, i, m.start(), m.end(), "", "no-interval-or-n1",
                    f"deleted the interval {m.group(0).strip()!r}")


FLIPS = {
    "fell": "rose", "rose": "fell", "cut": "raised", "cuts": "raises", "reduces": "increases",
    "reduce": "increase", "increases": "reduces", "lowered": "raised", "lower": "higher",
    "higher": "lower", "decrease": "increase", "increase": "decrease", "drop": "rise",
}
WORD = re.compile(r"\b(" + "|".join(sorted(FLIPS, key=len, reverse=True)) + r")\b")


@injector("wrong-direction")
def wrong_direction(subject: Subject, rng: random.Random) -> Injected[PaperDraft] | None:
    """A word stating the direction of an effect flipped (`fell` to `rose`)."""
    if not isinstance(subject, PaperDraft):
        return None
    found = [(i, m) for i, s in enumerate(subject.sections)
             if s.name in ("abstract", "main_text") for m in WORD.finditer(s.text)]
    if not found:
        return None
    i, m = rng.choice(found)
    new = FLIPS[m.group(1)]
    return _section(subject, i, m.start(), m.end(), new, "wrong-direction",
                    f"flipped {m.group(1)!r} to {new!r}")


__all__: list[str] = []
