"""Experiment specs: pydantic checks the shape, the registry checks the content; `run_spec`
aggregates per-seed metrics into means and standard errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from autoalign.errors import ConfigError
from autoalign.testbeds import ExperimentResult, ExperimentSpec, get_testbed, run_spec

from .conftest import Shift


@pytest.mark.parametrize(
    ("spec", "field", "reason"),
    [
        ({"testbed": "nope"}, "testbed", "unknown testbed 'nope'; known testbeds: probe_detection"),
        ({"config": {"n_trian": 10}}, "config.n_trian", "has no knob 'n_trian'; knobs: n_train"),
        ({"config": {"n_train": 10}}, "config.n_train", "10 is out of range, expected int in "
                                                        "[50, 5000]"),
        ({"config": {"n_train": "many"}}, "config.n_train", "expected int in [50, 5000], got "
                                                            "'many'"),
        ({"config": {"n_train": 100.5}}, "config.n_train", "expected an integer, got 100.5"),
        ({"config": {"train_agreement": True}}, "config.train_agreement", "expected float in"),
        ({"intervention": "more_dat"}, "intervention", "no intervention 'more_dat'; "
                                                       "interventions: group_reweight"),
    ],
)
def test_spec_content_errors_name_field_and_reason(
    spec: dict[str, object], field: str, reason: str
) -> None:
    full = {"testbed": "spurious_correlation", "seeds": [0], **spec}
    parsed = ExperimentSpec.model_validate(full)  # the shape is fine
    with pytest.raises(ConfigError) as info:
        parsed.validate_against_registry()
    assert info.value.field == field
    assert reason in info.value.reason
    with pytest.raises(ConfigError):
        run_spec(parsed)


@pytest.mark.parametrize(
    "spec",
    [
        {"testbed": "reward_hacking", "seeds": []},
        {"testbed": "reward_hacking", "seeds": list(range(201))},
        {"testbed": "reward_hacking", "seeds": [-1]},
        {"testbed": "reward_hacking", "seeds": [0], "extra": 1},
        {"testbed": "reward_hacking"},
    ],
)
def test_spec_shape_errors_are_validation_errors(spec: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ExperimentSpec.model_validate(spec)


def test_spec_is_frozen_and_fills_defaults() -> None:
    spec = ExperimentSpec(testbed="reward_hacking", config={"grid_size": 6.0}, seeds=[1])
    with pytest.raises(ValidationError):
        spec.seeds = [2]  # type: ignore[misc]  # frozen: the point of the test
    resolved = spec.validate_against_registry()
    assert resolved["grid_size"] == 6 and isinstance(resolved["grid_size"], int)
    assert resolved["flaw"] == "loop"
    assert set(resolved) == {k.name for k in get_testbed("reward_hacking").knobs}


def test_run_spec_aggregates_like_numpy() -> None:
    spec = ExperimentSpec(testbed="spurious_correlation", config={"n_train": 200},
                          intervention="group_reweight", seeds=[3, 1, 4, 1, 5])
    result = run_spec(spec)
    tb = get_testbed("spurious_correlation")
    assert result.per_seed == [
        tb.run({"n_train": 200}, intervention="group_reweight", seed=s) for s in spec.seeds
    ]
    assert result.testbed_version == tb.version
    assert result.resolved_config["n_train"] == 200
    for metric in (m.name for m in tb.metrics):
        values = np.array([r[metric] for r in result.per_seed])
        assert result.mean[metric] == pytest.approx(values.mean(), abs=1e-12)
        assert result.se[metric] == pytest.approx(
            values.std(ddof=1) / math.sqrt(len(values)), abs=1e-12)
    assert result.seconds > 0


def test_result_round_trips_through_json_even_with_one_seed(toy: type[Shift]) -> None:
    result = run_spec(ExperimentSpec(testbed="toy_shift", intervention="shift", seeds=[9]))
    assert math.isnan(result.se["value"])
    assert result.mean["value"] == result.per_seed[0]["value"]
    back = ExperimentResult.model_validate_json(result.model_dump_json())
    assert math.isnan(back.se["value"])
    assert back.per_seed == result.per_seed and back.spec == result.spec
