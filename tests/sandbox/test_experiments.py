"""Both ways to experiment, a structured spec and worker-written code, give the same record."""

from __future__ import annotations

import json

import pytest

from autoalign.sandbox import IsolationLevel, Job, Limits, run_code, run_job, run_spec
from autoalign.testbeds import ExperimentResult, ExperimentSpec
from autoalign.testbeds import run_spec as run_in_process

from .helpers import where

SPEC = ExperimentSpec(testbed="reward_hacking", intervention="reward_noise", seeds=[0, 1, 2])

# Worker code that calls the testbed API seed by seed and reports a plain dict.
BY_HAND = """
import math
from autoalign.sandbox.report import report
from autoalign.testbeds import ExperimentSpec, get_testbed

spec = ExperimentSpec.model_validate_json({spec_json!r})
testbed = get_testbed(spec.testbed)
config = spec.validate_against_registry()
per_seed = [testbed.run(config, intervention=spec.intervention, seed=s) for s in spec.seeds]
mean, se = {{}}, {{}}
for metric in per_seed[0]:
    values = [run[metric] for run in per_seed]
    n = len(values)
    mean[metric] = math.fsum(values) / n
    var = math.fsum((v - mean[metric]) ** 2 for v in values) / (n - 1)
    se[metric] = math.sqrt(var / n)
report({{
    "spec": spec.model_dump(mode="json"),
    "testbed_version": testbed.version,
    "resolved_config": config,
    "per_seed": per_seed,
    "mean": mean,
    "se": se,
    "seconds": 0.0,
}})
print("reported")
"""

# Worker code that runs the spec through the testbeds' own runner and reports the model.
VIA_RUN_SPEC = """
from autoalign.sandbox.report import report
from autoalign.testbeds import ExperimentSpec, run_spec

report(run_spec(ExperimentSpec.model_validate_json({spec_json!r})))
"""


def _without_timing(record: dict[str, object] | None) -> dict[str, object]:
    assert record is not None
    return {k: v for k, v in record.items() if k != "seconds"}


def test_spec_and_code_give_the_same_result_record(best: IsolationLevel) -> None:
    limits = Limits(wall_s=60)
    by_spec = run_spec(SPEC, limits=limits)
    by_hand = run_code(BY_HAND.format(spec_json=SPEC.model_dump_json()), limits=limits)
    via_api = run_code(VIA_RUN_SPEC.format(spec_json=SPEC.model_dump_json()), limits=limits)

    for run in (by_spec, by_hand, via_api):
        assert run.ok and run.result is not None, where(run)
        ExperimentResult.model_validate(run.result)
        assert "result.json" in [f.path for f in run.files]
    assert by_spec.kind == "spec" and by_hand.kind == "code"
    # Same record, whichever way (only the wall time of the runs differs) ...
    assert _without_timing(by_hand.result) == _without_timing(by_spec.result)
    assert _without_timing(via_api.result) == _without_timing(by_spec.result)
    # ... and the same as running the spec outside the sandbox.
    direct = run_in_process(SPEC).model_dump(mode="json")
    assert _without_timing(by_spec.result) == _without_timing(direct)
    print(f"isolation {best}: spec and code records equal; mean = {direct['mean']}")


def test_an_invalid_spec_is_refused_inside_the_sandbox(best: IsolationLevel) -> None:
    bad = json.dumps({"testbed": "reward_hacking", "seeds": [], "extra": 1})
    run = run_job(Job(kind="spec", payload=bad))

    assert run.exit_code == 203 and run.result is None, where(run)
    assert "invalid experiment spec" in run.stderr
    assert run.result_error == "the spec run wrote no result.json"
    print(f"isolation {best}: invalid spec refused")


def test_a_spec_the_registry_rejects_fails_with_the_reason(best: IsolationLevel) -> None:
    spec = ExperimentSpec(testbed="reward_hacking", config={"no_such_knob": 1}, seeds=[0])
    run = run_spec(spec)

    assert run.exit_code == 203 and run.result is None, where(run)
    assert "invalid experiment spec" in run.stderr and "no_such_knob" in run.stderr, where(run)
    print(f"isolation {best}: registry rejection reported")


@pytest.mark.parametrize(
    "reported",
    [
        "{'spec': {'testbed': 'reward_hacking', 'seeds': [0]}, 'mean': {}}",
        "'not a record at all'",
    ],
)
def test_a_malformed_report_is_refused_by_the_helper(best: IsolationLevel, reported: str) -> None:
    run = run_code(f"from autoalign.sandbox.report import report\nreport({reported})\n")

    assert run.exit_code == 1 and run.result is None, where(run)
    assert "Error" in run.stderr and run.files == [], where(run)


def test_a_forged_result_file_is_rejected_by_the_parent(best: IsolationLevel) -> None:
    run = run_code("open('result.json', 'w').write('{\"mean\": {\"x\": 1.0}}')\n")

    assert run.exit_code == 0 and run.result is None, where(run)
    assert run.result_error is not None and "not a valid ExperimentResult" in run.result_error
    assert not run.ok
    print(f"isolation {best}: forged result.json rejected")
