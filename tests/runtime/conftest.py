"""Fixtures shared with the pipeline tests."""

from ..pipeline.conftest import team as team
