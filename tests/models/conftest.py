"""Fixtures for the model layer: a real SQLite store, a run, scripts under unique names."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic_ai.models.function import FunctionDef

from autoalign.models import register_script
from autoalign.store import Store

_names = itertools.count()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path}/db.sqlite") as opened:
        yield opened


@pytest.fixture
def run_id(store: Store) -> int:
    return store.create_run(name="test", agenda_digest="0" * 64, config={}).id


@pytest.fixture
def script() -> Callable[[FunctionDef], str]:
    """Register a FunctionModel function under a fresh name; returns its model id."""

    def register(fn: FunctionDef) -> str:
        name = f"t{next(_names)}"
        register_script(name, fn)
        return f"scripted:{name}"

    return register
