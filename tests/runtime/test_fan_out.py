"""`fan_out`: results in order; a budget stop lets siblings finish, other failures cancel them."""

from __future__ import annotations

import asyncio

import pytest

from autoalign.errors import BudgetExceededError
from autoalign.runtime import fan_out


async def test_results_come_back_in_order() -> None:
    async def value(v: int, delay: float) -> int:
        await asyncio.sleep(delay)
        return v

    assert await fan_out([value(1, 0.02), value(2, 0.0), value(3, 0.01)]) == [1, 2, 3]


async def _sibling(finished: list[str]) -> str:
    await asyncio.sleep(0.05)  # an answer already paid for, still arriving
    finished.append("sibling")
    return "answer"


async def test_a_budget_stop_lets_the_siblings_finish_what_they_sent() -> None:
    finished: list[str] = []

    async def over_budget() -> str:
        raise BudgetExceededError("token budget exceeded")

    with pytest.raises(BudgetExceededError):
        await fan_out([_sibling(finished), over_budget()])
    assert finished == ["sibling"]


async def test_any_other_failure_cancels_the_siblings() -> None:
    finished: list[str] = []

    async def broken() -> str:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        await fan_out([_sibling(finished), broken()])
    await asyncio.sleep(0.1)
    assert finished == []


async def test_cancelling_fan_out_cancels_its_tasks() -> None:
    finished: list[str] = []
    outer = asyncio.ensure_future(fan_out([_sibling(finished), _sibling(finished)]))
    await asyncio.sleep(0.01)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    await asyncio.sleep(0.1)
    assert finished == []
