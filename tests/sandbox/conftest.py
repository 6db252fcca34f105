"""Fixtures of the sandbox tests: the isolation level under test, stated in every test's output."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from autoalign.sandbox import (
    ISOLATION_ENV,
    ISOLATION_LEVELS,
    IsolationLevel,
    available_isolation_levels,
    isolation_level,
)


@pytest.fixture(scope="session")
def available() -> list[IsolationLevel]:
    levels = available_isolation_levels()
    print(f"\nsandbox isolation on this machine: {levels[0]} (available: {', '.join(levels)})")
    return levels


@pytest.fixture
def best(available: list[IsolationLevel]) -> IsolationLevel:
    """The level runs get by default here (the strongest that works)."""
    level = isolation_level()
    assert level == available[0]
    print(f"isolation: {level}")
    return level


@pytest.fixture(params=ISOLATION_LEVELS)
def level(
    request: pytest.FixtureRequest,
    available: list[IsolationLevel],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[IsolationLevel]:
    """Each isolation level in turn (those that do not work here are skipped), forced by env."""
    wanted: IsolationLevel = request.param
    if wanted not in available:
        pytest.skip(f"isolation {wanted!r} does not work on this machine (have {available})")
    monkeypatch.setenv(ISOLATION_ENV, wanted)
    assert isolation_level() == wanted
    print(f"isolation: {wanted}")
    yield wanted
