"""The registry validates a testbed when it is registered, and lookups name what exists."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import pytest

from autoalign.errors import ConfigError
from autoalign.testbeds import (
    Intervention,
    Knob,
    Metric,
    Question,
    Testbed,
    get_testbed,
    list_testbeds,
    register_testbed,
)
from autoalign.testbeds._registry import unregister_testbed

from .conftest import Shift

BUILTIN = ["probe_detection", "reward_hacking", "spurious_correlation", "weak_to_strong"]


def test_builtins_are_registered_sorted_and_complete() -> None:
    names = [tb.name for tb in list_testbeds()]
    assert set(BUILTIN) <= set(names)
    assert names == sorted(names)
    for name in BUILTIN:
        tb = get_testbed(name)
        assert tb.name == name and tb.version and tb.description and tb.analogy
        assert 3 <= len(tb.questions) <= 5
        assert tb.knobs and tb.interventions and tb.metrics


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        get_testbed("reward_hackin")
    assert info.value.field == "testbed"
    assert "'reward_hackin'" in str(info.value)
    for name in BUILTIN:
        assert name in str(info.value)


def _variant(**changes: Any) -> type[Testbed]:
    """A subclass of the fixture testbed with some class attributes replaced."""
    return type("Variant", (Shift,), {"__module__": __name__, **changes})


def _question(**changes: Any) -> Question:
    return dataclasses.replace(Shift.questions[0], **changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Bad Name"}, "lowercase"),
        ({"name": ""}, "non-empty string 'name'"),
        ({"version": ""}, "non-empty string 'version'"),
        ({"analogy": "  "}, "non-empty string 'analogy'"),
        ({"metrics": ()}, "declares no metrics"),
        ({"knobs": [Shift.knobs[0]]}, "needs a tuple 'knobs'"),
        ({"knobs": (Shift.knobs[0], Shift.knobs[0])}, "has 'mean' twice"),
        ({"interventions": (Intervention(name="shift", doc=""),)}, "needs a doc string"),
        ({"metrics": (Metric(name="Value", doc="x", higher_is_better=True),)}, "lowercase"),
        ({"questions": (_question(intervention="nope"),)}, "unknown intervention 'nope'"),
        ({"questions": (_question(comparison="nope"),)}, "unknown comparison intervention"),
        ({"questions": (_question(comparison="shift"),)}, "with itself"),
        ({"questions": (_question(metric="nope"),)}, "unknown metric 'nope'"),
        ({"questions": (_question(threshold=float("nan")),)}, "finite number"),
        ({"questions": (_question(effect_kind="ratio"),)}, "unknown effect kind"),
        ({"questions": (_question(direction="above"),)}, "unknown direction"),
        ({"questions": (_question(config={"nope": 1}),)}, "no knob 'nope'"),
        ({"questions": (_question(config={"mean": 99.0}),)}, "out of range"),
        ({"questions": (_question(), _question())}, "has 'shift_up' twice"),
        ({"questions": (_question(id="Bad-Id"),)}, "lowercase"),
    ],
)
def test_bad_registration_is_rejected(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        register_testbed(_variant(**changes))
    assert "Variant" not in {type(tb).__name__ for tb in list_testbeds()}


def test_abstract_or_foreign_classes_are_rejected() -> None:
    class NoRun(Testbed):
        name: ClassVar[str] = "no_run"

    with pytest.raises(ConfigError, match="does not implement simulate"):
        register_testbed(NoRun)
    with pytest.raises(ConfigError, match="Testbed subclass"):
        register_testbed(int)  # type: ignore[type-var]  # the point of the test


def test_a_taken_name_cannot_be_reused_by_another_class(toy: type[Shift]) -> None:
    with pytest.raises(ConfigError, match="already registered"):
        register_testbed(_variant())
    register_testbed(toy)  # the same class again (a reload) is fine
    assert type(get_testbed("toy_shift")) is toy


def test_registered_testbed_is_found_and_removed(toy: type[Shift]) -> None:
    assert "toy_shift" in [tb.name for tb in list_testbeds()]
    unregister_testbed("toy_shift")
    with pytest.raises(ConfigError):
        get_testbed("toy_shift")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "int", "default": 5, "low": 10, "high": 1}, "low <= high"),
        ({"kind": "int", "default": 50, "low": 0, "high": 10}, "default .* out of range"),
        ({"kind": "float", "default": 1.0}, "low <= high"),
        ({"kind": "bool", "default": 1}, "expected true or false"),
        ({"kind": "bool", "default": True, "low": 0, "high": 1}, "cannot have a range"),
        ({"kind": "choice", "default": "a", "choices": ("a",)}, "two distinct choices"),
        ({"kind": "choice", "default": "c", "choices": ("a", "b")}, "expected one of a, b"),
        ({"kind": "int", "default": 1, "low": 0, "high": 2, "choices": ("a", "b")},
         "cannot have choices"),
        ({"kind": "int", "default": 1, "low": 0, "high": 2, "doc": " "}, "doc string"),
        ({"kind": "str", "default": "x"}, "unknown kind 'str'"),
    ],
)
def test_bad_knobs_are_rejected_when_declared(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Knob(**{"name": "k", "doc": "A knob.", **kwargs})


def test_knob_check_normalises_and_rejects() -> None:
    count = Knob(name="n", kind="int", default=3, low=1, high=10, doc="Count.")
    rate = Knob(name="r", kind="float", default=0.5, low=0.0, high=1.0, doc="Rate.")
    flag = Knob(name="f", kind="bool", default=False, doc="Flag.")
    pick = Knob(name="p", kind="choice", default="a", choices=("a", "b"), doc="Pick.")
    assert count.check(4.0) == 4 and isinstance(count.check(4.0), int)
    assert rate.check(1) == 1.0 and isinstance(rate.check(1), float)
    assert flag.check(True) is True and pick.check("b") == "b"
    for knob, value in [(count, 4.5), (count, True), (count, "4"), (rate, float("inf")),
                        (rate, 1.5), (flag, 1), (pick, "c"), (count, 0)]:
        with pytest.raises(ConfigError) as info:
            knob.check(value, field=f"config.{knob.name}")
        assert info.value.field == f"config.{knob.name}"
    assert count.type_text == "int in [1, 10]"
    assert Knob(name="m", kind="int", default=4.0, low=1, high=9, doc="M.").default == 4
    assert isinstance(Knob(name="m", kind="float", default=4, low=1, high=9, doc="M.").default,
                      float)
    assert pick.type_text == "one of a, b"
