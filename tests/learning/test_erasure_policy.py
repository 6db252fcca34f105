"""Erasure policy files: defaults, the digest, and errors that name the file, field and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoalign.errors import ConfigError
from autoalign.learning import DEFAULT_KINDS, ERASABLE_KINDS, load_policy
from autoalign.vocabulary import Kind

EXAMPLE = Path(__file__).parents[2] / "examples" / "erasure.toml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_policy_loads_and_has_a_stable_digest() -> None:
    policy = load_policy(EXAMPLE)
    assert policy.name and set(policy.kinds) <= set(ERASABLE_KINDS)
    assert load_policy(EXAMPLE).digest == policy.digest and len(policy.digest) == 64


def test_defaults_and_the_digest_follow_the_settings(tmp_path: Path) -> None:
    policy = load_policy(_write(tmp_path, 'name = "p"\n[budget]\nmax_count = 3\n'))
    assert policy.kinds == DEFAULT_KINDS and policy.budget.max_count == 3
    other = load_policy(_write(tmp_path, 'name = "p"\n[budget]\nmax_count = 4\n'))
    assert other.digest != policy.digest


@pytest.mark.parametrize(("text", "field", "reason"), [
    ('name = "p"\nbudjet = 1\n[budget]\nmax_count = 1\n', "budjet", "unknown field"),
    ('name = "p"\nkinds = ["paper"]\n[budget]\nmax_count = 1\n', "kinds", "may not be erased"),
    ('name = "p"\n[budget]\n', "budget", "at least one of"),
    ('name = "p"\n[budget]\nmax_fraction_left = 2.0\n', "budget.max_fraction_left", "less than"),
    ('name = "p"\n[budget]\nmax_count = 1\n[weights]\nage = -1\n', "weights.age", "greater"),
])
def test_a_bad_policy_names_the_file_the_field_and_the_reason(
    tmp_path: Path, text: str, field: str, reason: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    assert info.value.file == str(path) and info.value.field == field
    assert reason in info.value.reason


def test_only_detailed_logs_are_erasable() -> None:
    assert Kind.PAPER not in ERASABLE_KINDS and Kind.RESEARCH_LOG not in ERASABLE_KINDS
    assert Kind.EXPERIMENT_CLAIM not in ERASABLE_KINDS
