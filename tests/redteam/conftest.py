"""The scripted team of the pipeline tests, for red-team experiments with LLM critics."""

from __future__ import annotations

import itertools

import pytest

from autoalign.models import register_script
from tests.pipeline.conftest import Team

_names = itertools.count()


@pytest.fixture
def team() -> tuple[Team, str]:
    """A fresh scripted team and its model id."""
    t = Team()
    name = f"redteam{next(_names)}"
    register_script(name, t)
    return t, f"scripted:{name}"
