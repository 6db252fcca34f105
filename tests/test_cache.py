"""One cache layout: the embedded model, testbed ground truth and the sandbox agree on it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autoalign._cache import CACHE_DIR_ENV, cache_folder, cache_root
from autoalign.models import local
from autoalign.sandbox._isolation import research_data_paths
from autoalign.testbeds import truth_cache_path


def test_every_cache_lives_under_the_root_set_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    assert cache_root() == tmp_path
    assert local.cache_dir() == tmp_path / "models"
    assert truth_cache_path("reward_hacking", seeds=10).parent == tmp_path / "truth"
    # The sandbox hides the whole root, so the ground truth (the answer key) too.
    assert os.path.realpath(tmp_path) in research_data_paths()


def test_without_the_variable_the_root_is_the_users_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(CACHE_DIR_ENV, raising=False)
    root = Path.home() / ".cache" / "autoalign"
    assert cache_root() == root
    assert local.cache_dir() == root / "models"
    assert truth_cache_path("reward_hacking", seeds=10).parent == root / "truth"
    assert os.path.realpath(root) in research_data_paths()
    monkeypatch.setenv(CACHE_DIR_ENV, "")  # empty counts as unset
    assert cache_root() == root


def test_an_explicit_root_overrides_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "env"))
    assert cache_folder("truth", root=tmp_path) == tmp_path / "truth"
    assert truth_cache_path("reward_hacking", cache_dir=tmp_path).parent == tmp_path / "truth"
