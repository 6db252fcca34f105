"""The A/B config: errors name the file, the field and why; the view registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autoalign.errors import ConfigError
from autoalign.learning import load_ab_config, parse_ab_config, register_view, view, view_names
from autoalign.learning._ab_views import unregister_view

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ab.toml"


def _data(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "t", "a": {"critic": "c2.claim-strength"},
                            "b": {"critic": "c2.numbers-match"}}
    data.update(over)
    return data


@pytest.mark.parametrize(("data", "field", "reason"), [
    (_data(b={"critic": "c9.nope"}), "b.critic", "unknown critic 'c9.nope'"),
    (_data(a={"critic": "c2.numbers-match", "view": "nope"}), "a.view", "no view called"),
    (_data(b={"critic": "c2.numbers-match", "colour": "red"}), "b.colour", "unknown key"),
    (_data(flaw_types=["no-such-type"]), "flaw_types", "no-such-type"),
    (_data(flaw_types=["swallowed-error"]), "flaw_types[0]", "not a flaw of paper"),
    (_data(b={"critic": "c1.numbers-match"}), "b.critic", "same kind of task"),
    (_data(alpha=0.9), "alpha", "less than or equal to 0.5"),
    ({"name": "t", "a": {"critic": "c2.review"}}, "b", "required key is missing"),
    (_data(b={"critic": "c2.pipeline", "critic2": {"instances": 99}}), "b.critic2.instances",
     "less than or equal to 8"),
])
def test_errors_name_the_field(data: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_ab_config(data, source="ab.toml")
    assert info.value.field == field
    assert info.value.file == "ab.toml"
    assert reason in info.value.reason


def test_the_example_config_loads(tmp_path: Path) -> None:
    config = load_ab_config(EXAMPLE)
    assert config.sequential and config.where == "paper"
    assert config.a.critic != config.b.critic
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace('view = "full"', 'view = "nope"', 1))
    with pytest.raises(ConfigError) as info:
        load_ab_config(bad)
    assert info.value.file == str(bad) and info.value.field == "a.view"


def test_arms_may_differ_only_in_models_and_the_digest_sees_it() -> None:
    one = parse_ab_config(_data(b={"critic": "c2.claim-strength"}))
    two = parse_ab_config(_data(b={"critic": "c2.claim-strength",
                                   "models": {"default": "local:other"}}))
    assert one.arm_models("B") != two.arm_models("B")
    assert one.arm_models("A") == two.arm_models("A")
    assert one.digest() != two.digest()


def test_the_view_registry() -> None:
    assert "full" in view_names()

    def blank(subject: Any) -> Any:
        return subject

    register_view("test-blank", blank)
    try:
        assert view("test-blank") is blank
        with pytest.raises(ValueError, match="already registered"):
            register_view("test-blank", lambda s: s)
        assert parse_ab_config(_data(a={"critic": "c2.claim-strength",
                                        "view": "test-blank"})).a.view == "test-blank"
    finally:
        unregister_view("test-blank")
    with pytest.raises(ConfigError, match="no view called"):
        view("test-blank")
