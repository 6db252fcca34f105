"""Fixtures of the review tests."""

from __future__ import annotations

import pytest

from autoalign.store import Store

from .dag import Dag, build_dag


@pytest.fixture
def dag(store: Store) -> Dag:
    return build_dag(store)
