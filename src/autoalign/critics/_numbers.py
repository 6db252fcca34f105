"""Critic #1, programmatic: numbers in the log or interpretation the sandbox never returned."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import ClassVar

from ._finding import Finding, Location
from ._programmatic import ProgrammaticCritic
from ._protocol import register_critic
from ._step import ExecutedStep, StepRun
from ._taxonomy import FlawCategory, Severity

LOG_TOLERANCE = 1e-9
"""Relative tolerance for a logged value: the table must hold numbers exactly as returned."""

_NUMBER = re.compile(r"(?:^|(?<=[\s(\[=:,;\"'~\u2248]))([-+\u2212]?\d+\.\d+)(%?)(?![\w]|\.\d)")
"""A decimal number in prose: digits, a point, digits, with an optional sign and percent sign,
starting the text or after a space or opening punctuation. Integers are not checked (seed
counts, sample sizes, years), nor numbers glued to a word (`v1.2`, `gpt-4.1`)."""


def _close(printed: float, decimals: int, value: float) -> bool:
    # A printed number matches a value it could be a rounding of (half a unit in the last
    # printed place, plus a hair for binary floating point).
    return abs(printed - value) <= 0.5 * 10.0 ** (-decimals) + 1e-12 * max(1.0, abs(value))


def reference_values(runs: Iterable[StepRun]) -> list[float]:
    """Every number a text may quote: each seed's value, each mean and SE, and between arms
    the difference and relative change of means (both ways round)."""
    values: list[float] = []
    means: dict[str, list[float]] = {}
    for run in runs:
        if run.run.result is None:
            continue
        values.extend(v for _, _, v in run.values())
        values.extend(float(se) for se in run.run.result.get("se", {}).values())
        for metric, mean in run.run.result.get("mean", {}).items():
            means.setdefault(metric, []).append(float(mean))
    values.extend(comparisons(means.values()))
    return [v for v in values if math.isfinite(v)]


def comparisons(groups: Iterable[Sequence[float]]) -> list[float]:
    """Between every two arms' means in each group (one group per metric): their difference
    and relative change, both ways round."""
    values: list[float] = []
    for arm_means in groups:
        for i, a in enumerate(arm_means):
            for j, b in enumerate(arm_means):
                if i == j:
                    continue
                values.append(a - b)
                if b != 0:
                    values.append(a / b - 1.0)
    return [v for v in values if math.isfinite(v)]


def printed_numbers(text: str) -> list[float]:
    """The value of every decimal number in `text` that `unmatched_numbers` would check (a
    percent read as a hundredth)."""
    found = []
    for m in _NUMBER.finditer(text):
        value = float(m.group(1).replace("\u2212", "-"))
        found.append(value / 100.0 if m.group(2) else value)
    return found


def unmatched_numbers(text: str, references: list[float]) -> list[tuple[int, int, str]]:
    """The decimal numbers in `text` that round from no reference value: (start, end, text)."""
    found = []
    for m in _NUMBER.finditer(text):
        raw, percent = m.group(1).replace("\u2212", "-"), m.group(2)
        decimals = len(raw.split(".")[1])
        printed = float(raw)
        if percent:
            printed, decimals = printed / 100.0, decimals + 2
        # Prose states a drop of 0.12 as often as an effect of -0.12: compare magnitudes.
        ok = any(_close(abs(printed), decimals, abs(ref)) for ref in references)
        if not ok:
            found.append((m.start(), m.end(), m.group(0)))
    return found


@register_critic
class NumbersMatch(ProgrammaticCritic[ExecutedStep]):
    """Log rows and decimal numbers in the interpretation must be values the sandbox returned."""

    id = "c1.numbers-match"
    version = "1"
    checks: ClassVar[tuple[str, ...]] = ("step_log", "step_report", "sandbox_run")
    description = (
        "numbers in the research log or the interpretation that do not match the sandbox results"
    )

    def rule(self, step: ExecutedStep) -> list[Finding]:
        findings: list[Finding] = []
        produced: dict[tuple[str, str, int | None], list[float]] = {}
        for run in step.runs:
            for metric, seed, value in run.values():
                produced.setdefault((run.arm, metric, seed), []).append(value)
        for i, row in enumerate(step.log.rows):
            returned = produced.get((row.arm, row.metric, row.seed))
            if returned is None:
                continue  # nothing produced it: `c1.results-produced` reports that
            if not any(math.isclose(row.value, v, rel_tol=LOG_TOLERANCE, abs_tol=1e-12)
                       for v in returned):
                which = "mean" if row.seed is None else f"seed {row.seed}"
                findings.append(Finding(
                    category=FlawCategory.NUMBER_MISMATCH,
                    severity=Severity.CRITICAL,
                    description=f"the log records {row.metric} of {row.arm} ({which}) as a value "
                    "the sandbox did not return",
                    evidence=f"logged {row.value!r}; sandbox returned "
                    + ", ".join(repr(v) for v in returned),
                    location=Location(artifact_id=step.log.artifact_id, field=f"rows[{i}].value"),
                ))
        references = reference_values(step.runs)
        texts = [(step.log.artifact_id, "text", step.log.text)]
        if step.interpretation is not None:
            texts.append((step.interpretation.artifact_id, "text", step.interpretation.text))
        for artifact_id, field, text in texts:
            for start, end, number in unmatched_numbers(text, references):
                findings.append(Finding(
                    category=FlawCategory.NUMBER_MISMATCH,
                    severity=Severity.MAJOR,
                    description=f"the number {number} is not a rounding of any value the sandbox "
                    "returned, nor of a difference or relative change between arms",
                    evidence=f"…{text[max(0, start - 60):end + 20]}…",
                    location=Location(artifact_id=artifact_id, field=field, start=start, end=end),
                ))
        return findings
