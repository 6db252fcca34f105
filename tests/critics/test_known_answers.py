"""Critic #1's programmatic checks on their known-answer cases, and the evaluation of them."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from autoalign.calibration import wilson_interval
from autoalign.critics import (
    CriticScale,
    FlawCategory,
    Interpretation,
    ProgrammaticCritic,
    Severity,
    WorkerCode,
    get_critic,
    list_critics,
)
from autoalign.critics._numbers import NumbersMatch
from autoalign.critics.known_answers import (
    CODE_ID,
    INTERP_ID,
    KnownAnswer,
    clean_paper,
    clean_step,
    evaluate_known_answers,
    known_answers,
)

CASES = known_answers()
PROGRAMMATIC = [c.id for c in list_critics(kind="programmatic")]
STEP_CHECKS = [c.id for c in list_critics(kind="programmatic", scale=CriticScale.STEP)]
PAPER_CHECKS = [c.id for c in list_critics(kind="programmatic", scale=CriticScale.PAPER)]


def _rule(name: str) -> ProgrammaticCritic:
    critic = get_critic(name)
    assert isinstance(critic, ProgrammaticCritic)
    return critic


def test_every_programmatic_critic_has_six_positives_and_six_negatives() -> None:
    assert set(STEP_CHECKS) == {
        "c1.numbers-match", "c1.results-produced", "c1.code-integrity", "c1.claim-evidence",
        "c1.question-scope",
    }
    assert set(PAPER_CHECKS) == {"c2.numbers-match", "c2.claim-strength", "c2.abstract-scope"}
    assert set(PROGRAMMATIC) == set(STEP_CHECKS) | set(PAPER_CHECKS)
    positives = Counter(c.critic for c in CASES if c.flawed)
    negatives = Counter(c.critic for c in CASES if not c.flawed)
    for name in PROGRAMMATIC:
        assert positives[name] >= 6, name
        assert negatives[name] >= 6, name
    assert len({(c.critic, c.name) for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [c for c in CASES if c.flawed], ids=lambda c: c.name)
def test_positive_case_is_flagged_under_its_category(case: KnownAnswer) -> None:
    findings = _rule(case.critic).rule(case.subject)
    assert case.category in {f.category for f in findings}


@pytest.mark.parametrize("case", [c for c in CASES if not c.flawed], ids=lambda c: c.name)
def test_negative_case_is_not_flagged(case: KnownAnswer) -> None:
    assert _rule(case.critic).rule(case.subject) == []


def test_the_clean_step_passes_every_programmatic_critic() -> None:
    step = clean_step()
    assert all(_rule(name).rule(step) == [] for name in STEP_CHECKS)


def test_the_clean_paper_passes_every_programmatic_paper_check() -> None:
    paper = clean_paper()
    assert PAPER_CHECKS and all(_rule(name).rule(paper) == [] for name in PAPER_CHECKS)


def test_evaluation_counts_every_case_with_wilson_intervals() -> None:
    scores = {s.critic: s for s in evaluate_known_answers()}
    assert set(scores) == set(PROGRAMMATIC)
    for name, score in scores.items():
        pos = sum(1 for c in CASES if c.critic == name and c.flawed)
        neg = sum(1 for c in CASES if c.critic == name and not c.flawed)
        assert (score.recall.hits, score.recall.n) == (pos, pos)
        assert (score.false_alarm.hits, score.false_alarm.n) == (0, neg)
        assert score.recall.interval == wilson_interval(pos, pos)
        assert score.false_alarm.interval == wilson_interval(0, neg)
        assert score.missed == [] and score.false_alarms == []


def test_a_broken_check_shows_as_lost_recall(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NumbersMatch, "rule", lambda self, step: [])
    [score] = evaluate_known_answers(critics=["c1.numbers-match"])
    assert score.recall.hits == 0 and score.recall.n >= 6
    assert len(score.missed) == score.recall.n
    assert score.recall.interval is not None and score.recall.interval.low == 0.0


def test_a_trigger_happy_check_shows_as_false_alarms(monkeypatch: pytest.MonkeyPatch) -> None:
    positive = next(c for c in CASES if c.critic == "c1.numbers-match" and c.flawed)
    [finding, *_] = NumbersMatch().rule(positive.subject)
    monkeypatch.setattr(NumbersMatch, "rule", lambda self, step: [finding])
    [score] = evaluate_known_answers(critics=["c1.numbers-match"])
    assert score.false_alarm.hits == score.false_alarm.n >= 6
    assert math.isclose(score.recall.value or 0.0, 1.0)


def test_numbers_finding_points_at_the_span_in_the_interpretation() -> None:
    text = "Hacking fell from 0.32 to 0.08 with the penalty."
    step = clean_step().model_copy(
        update={"interpretation": Interpretation(artifact_id=INTERP_ID, text=text)}
    )
    [finding] = _rule("c1.numbers-match").rule(step)
    loc = finding.location
    assert (loc.artifact_id, loc.field) == (INTERP_ID, "text")
    assert loc.start is not None and text[loc.start:loc.end] == "0.08"
    assert finding.category == FlawCategory.NUMBER_MISMATCH


def test_a_logged_value_must_match_exactly_not_just_round() -> None:
    step = clean_step()
    rows = [r.model_copy(update={"value": round(r.value, 1)}) if r.seed == 0 else r
            for r in step.log.rows]
    findings = _rule("c1.numbers-match").rule(
        step.model_copy(update={"log": step.log.model_copy(update={"rows": rows})}))
    # 0.12 -> 0.1 and 0.30 -> 0.3 (equal), 1.5 and 1.2 unchanged: one row differs.
    assert [f.location.field for f in findings] == ["rows[0].value"]
    assert findings[0].severity == Severity.CRITICAL


def test_code_findings_name_the_line_and_are_critical_for_tampering() -> None:
    source = "x = 1\nseed = 3\nif seed == 3:\n    x = 0\n"
    step = clean_step().model_copy(
        update={"code": WorkerCode(artifact_id=CODE_ID, source=source)})
    [finding] = _rule("c1.code-integrity").rule(step)
    assert (finding.location.artifact_id, finding.location.line) == (CODE_ID, 3)
    assert (finding.category, finding.severity) == (
        FlawCategory.EVALUATION_TAMPERING, Severity.CRITICAL)
    assert "seed == 3" in finding.evidence


def test_code_that_does_not_parse_is_reported_not_raised() -> None:
    step = clean_step().model_copy(
        update={"code": WorkerCode(artifact_id=CODE_ID, source="def broken(:\n")})
    [finding] = _rule("c1.code-integrity").rule(step)
    assert finding.category == FlawCategory.OTHER and finding.location.line == 1
