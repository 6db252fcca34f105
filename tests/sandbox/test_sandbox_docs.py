"""docs/sandbox.md names every isolation level, guarantee and way a run can end."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from autoalign.sandbox import ISOLATION_LEVELS, IsolationLevel, KilledBy, guarantees

from .helpers import names

DOC = (Path(__file__).resolve().parents[2] / "docs" / "sandbox.md").read_text()


@pytest.mark.parametrize("level", ISOLATION_LEVELS)
def test_every_guarantee_of_every_level_is_documented(level: IsolationLevel) -> None:
    enforced, not_enforced = guarantees(level)
    assert f"`{level}`" in DOC
    for name in names(enforced) | names(not_enforced):
        assert f"| `{name}` |" in DOC, f"{name} ({level}) is not in docs/sandbox.md"


def test_every_killed_by_value_is_documented() -> None:
    for value in typing.get_args(KilledBy):
        assert f"`{value}`" in DOC
