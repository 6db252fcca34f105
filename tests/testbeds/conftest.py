"""Fixtures for the testbed tests: a private truth cache, and a tiny testbed whose truth is known
in closed form."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from autoalign.testbeds import Intervention, Knob, Metric, Question, Testbed, register_testbed
from autoalign.testbeds._registry import unregister_testbed


@pytest.fixture(autouse=True)
def truth_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own `$AUTOALIGN_CACHE_DIR`, so no test reads another's truth."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("AUTOALIGN_CACHE_DIR", str(cache))
    monkeypatch.setenv("COLUMNS", "200")  # Rich tables wide enough not to wrap ids
    return cache


class Shift(Testbed):
    """metric `value` ~ N(mean, 1) per seed; `shift` adds `delta`; `scale` multiplies by 1.5."""

    name: ClassVar[str] = "toy_shift"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = "A normal draw per seed, shifted or scaled by interventions."
    analogy: ClassVar[str] = "None; a fixture."
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob(name="mean", kind="float", default=2.0, low=-10.0, high=10.0, doc="Mean of value."),
        Knob(name="delta", kind="float", default=0.5, low=0.0, high=5.0, doc="Shift size."),
        Knob(name="fail_seed", kind="int", default=-1, low=-1, high=10**9,
             doc="A seed whose run raises (-1: none)."),
    )
    interventions: ClassVar[tuple[Intervention, ...]] = (
        Intervention(name="shift", doc="Adds delta."),
        Intervention(name="scale", doc="Multiplies by 1.5."),
    )
    metrics: ClassVar[tuple[Metric, ...]] = (
        Metric(name="value", doc="The draw.", higher_is_better=True),
    )
    questions: ClassVar[tuple[Question, ...]] = (
        Question(id="shift_up", text="Does shift raise value by at least 0.4?",
                 intervention="shift", metric="value", effect_kind="difference",
                 threshold=0.4, direction="at_least"),
        Question(id="scale_vs_shift", text="Does scale beat shift by 2 relative?",
                 intervention="scale", comparison="shift", metric="value",
                 effect_kind="relative_change", threshold=2.0, direction="at_least"),
    )

    def simulate(
        self, config: Mapping[str, int | float | bool | str], *, intervention: str | None,
        seed: int,
    ) -> Mapping[str, float]:
        if seed == config["fail_seed"]:
            raise RuntimeError(f"seed {seed} fails on purpose")
        value = float(config["mean"]) + float(np.random.default_rng(seed).standard_normal())
        if intervention == "shift":
            value += float(config["delta"])
        elif intervention == "scale":
            value *= 1.5
        return {"value": value}


@pytest.fixture
def toy() -> Iterator[type[Shift]]:
    """`Shift` registered as `toy_shift` for the test, and removed afterwards."""
    register_testbed(Shift)
    try:
        yield Shift
    finally:
        unregister_testbed(Shift.name)
