"""Fixtures of the red-team tests: a fresh research database per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoalign.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A SQLite research database migrated to head."""
    return Store.open(f"sqlite:///{tmp_path}/research.db")
