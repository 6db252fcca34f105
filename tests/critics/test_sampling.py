"""Critic #1 checks a share of steps, more after failed attempts, the same steps on resume."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from autoalign.critics import CheckRate, is_selected
from autoalign.critics.known_answers import clean_step


def _steps(n: int, attempt: int = 1) -> list[bool]:
    rate = CheckRate(rate=0.2, after_failure=0.8)
    base = clean_step()
    return [
        is_selected(base.model_copy(update={"step_key": f"s{i}", "attempt": attempt}), rate)
        for i in range(n)
    ]


def test_the_share_checked_follows_the_rate_and_rises_after_failure() -> None:
    first, retried = _steps(2000), _steps(2000, attempt=2)
    assert 0.17 < sum(first) / 2000 < 0.23
    assert 0.77 < sum(retried) / 2000 < 0.83


def test_the_choice_is_deterministic_and_salted() -> None:
    assert _steps(200) == _steps(200)
    rate = CheckRate(rate=0.5)
    step = clean_step()
    picks = {is_selected(step, rate, salt=str(run)) for run in range(50)}
    assert picks == {True, False}


def test_rates_zero_and_one_are_never_and_always() -> None:
    step = clean_step()
    assert not is_selected(step, CheckRate(rate=0.0, after_failure=0.0))
    assert is_selected(step, CheckRate(rate=1.0))
    assert CheckRate(rate=0.5, after_failure=0.1).for_attempt(3) == 0.5


def test_a_rate_outside_zero_one_is_refused() -> None:
    with pytest.raises(ValidationError):
        CheckRate(rate=1.5)
