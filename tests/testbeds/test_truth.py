"""Ground truth: the estimators, paired seeds, the on-disk cache and its keys, the process pool,
and the real testbeds' answers."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from autoalign.errors import ConfigError, DataError
from autoalign.testbeds import (
    ExperimentSpec,
    _truth,
    estimate_effect,
    get_testbed,
    ground_truth,
    run_spec,
    truth_cache_path,
)

from .conftest import Shift

# -- estimators ------------------------------------------------------------------------------


def test_difference_is_the_paired_mean_and_its_se() -> None:
    t = [3.0, 5.0, 4.0, 6.0]
    c = [1.0, 2.0, 2.0, 3.0]
    effect, se = estimate_effect("difference", t, c)
    assert effect == pytest.approx(2.5)  # differences 2, 3, 2, 3
    assert se == pytest.approx(math.sqrt(1 / 3) / 2)  # sample sd sqrt(1/3), n = 4


def test_relative_change_delta_method_matches_the_bootstrap() -> None:
    rng = np.random.default_rng(0)
    n = 400
    c = rng.normal(2.0, 1.0, n)
    t = 0.8 * c + rng.normal(1.0, 0.6, n)  # correlated arms, as with paired seeds
    effect, se = estimate_effect("relative_change", t, c)
    assert effect == pytest.approx(t.mean() / c.mean() - 1)
    idx = rng.integers(0, n, size=(4000, n))
    boot = t[idx].mean(axis=1) / c[idx].mean(axis=1) - 1
    assert se == pytest.approx(boot.std(ddof=1), rel=0.1)
    # ignoring the covariance would overstate the SE a lot here
    naive = math.sqrt((t.var(ddof=1) / c.mean() ** 2
                       + t.mean() ** 2 * c.var(ddof=1) / c.mean() ** 4) / n)
    assert naive > 1.5 * se


def test_estimator_refuses_what_it_cannot_estimate() -> None:
    with pytest.raises(DataError, match="mean is 0"):
        estimate_effect("relative_change", [1.0, 2.0], [1.0, -1.0])
    with pytest.raises(DataError, match="same length"):
        estimate_effect("difference", [1.0, 2.0], [1.0])
    with pytest.raises(DataError):
        estimate_effect("difference", [1.0], [1.0])


# -- ground_truth on the fixture testbed -----------------------------------------------------


def test_truth_of_the_fixture_is_its_closed_form(toy: type[Shift], truth_cache: Path) -> None:
    shift_up, scale_vs_shift = ground_truth("toy_shift", seeds=40, workers=1, progress=False)
    # shift adds exactly 0.5 on the same seeds: the paired difference has no noise at all.
    assert shift_up.effect == pytest.approx(0.5) and shift_up.se == pytest.approx(0, abs=1e-12)
    assert shift_up.answer is True and shift_up.n_seeds == 40 and not shift_up.from_cache
    assert shift_up.treated_mean - shift_up.baseline_mean == pytest.approx(0.5)
    assert shift_up.estimator == "paired_difference"
    # scale (x1.5) against shift (+0.5): ratio of means - 1 around 1.5·2/2.5 - 1 = 0.2
    assert scale_vs_shift.estimator == "ratio_of_means_delta"
    assert scale_vs_shift.effect == pytest.approx(
        scale_vs_shift.treated_mean / scale_vs_shift.baseline_mean - 1)
    assert abs(scale_vs_shift.effect - 0.2) < 4 * scale_vs_shift.se
    assert scale_vs_shift.answer is False  # threshold 2.0
    assert truth_cache_path("toy_shift", seeds=40).is_relative_to(truth_cache / "truth")


def test_second_call_reads_the_cache_without_running(
    toy: type[Shift], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ground_truth("toy_shift", seeds=10, workers=1, progress=False)

    def no_runs(*args: object) -> list[dict[str, float]]:
        raise AssertionError("ground truth was recomputed")

    monkeypatch.setattr(_truth, "_run_chunk", no_runs)
    second = ground_truth("toy_shift", seeds=10, workers=1, progress=False)
    assert all(t.from_cache for t in second)
    assert [t.model_copy(update={"from_cache": False}) for t in second] == first
    # another seed count is another truth
    with pytest.raises(AssertionError, match="recomputed"):
        ground_truth("toy_shift", seeds=11, workers=1, progress=False)


@pytest.mark.parametrize("change", ["version", "question", "default"])
def test_changed_testbed_is_recomputed(
    toy: type[Shift], monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    before = ground_truth("toy_shift", seeds=10, workers=1, progress=False)
    if change == "version":
        monkeypatch.setattr(toy, "version", "2")
    elif change == "question":
        moved = dataclasses.replace(toy.questions[0], threshold=0.6)
        monkeypatch.setattr(toy, "questions", (moved, toy.questions[1]))
    else:
        knob = dataclasses.replace(toy.knobs[1], default=0.7)
        monkeypatch.setattr(toy, "knobs", (toy.knobs[0], knob, toy.knobs[2]))
    after = ground_truth("toy_shift", seeds=10, workers=1, progress=False)
    assert not any(t.from_cache for t in after)
    if change == "version":
        assert after[0].version == "2" and after[0].effect == before[0].effect
    if change == "question":
        assert after[0].threshold == 0.6 and after[0].answer is False
    if change == "default":
        assert after[0].effect == pytest.approx(0.7)
    assert len(list(truth_cache_path("toy_shift", seeds=10).parent.glob("*.json"))) == 2


def test_corrupt_cache_is_recomputed(toy: type[Shift]) -> None:
    path = truth_cache_path("toy_shift", seeds=5)
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    truths = ground_truth("toy_shift", seeds=5, workers=1, progress=False)
    assert not truths[0].from_cache
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["testbed"] == "toy_shift" and stored["n_seeds"] == 5
    assert len(stored["truths"]) == 2


def test_process_pool_gives_the_same_truth(toy: type[Shift], tmp_path: Path) -> None:
    serial = ground_truth("toy_shift", seeds=30, workers=1, progress=False,
                          cache_dir=tmp_path / "a")
    pooled = ground_truth("toy_shift", seeds=30, workers=2, progress=True,
                          cache_dir=tmp_path / "b")
    assert pooled == serial


def test_a_failing_run_fails_the_truth_and_caches_nothing(
    toy: type[Shift], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = next(k for k in toy.knobs if k.name == "fail_seed")
    failing = dataclasses.replace(bad, default=_truth.TRUTH_SEED_BASE + 7)
    monkeypatch.setattr(toy, "knobs", (*toy.knobs[:2], failing))
    with pytest.raises(RuntimeError, match="fails on purpose"):
        ground_truth("toy_shift", seeds=20, workers=2, progress=False)
    assert not truth_cache_path("toy_shift", seeds=20).exists()


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="at least 2 seeds"):
        ground_truth("reward_hacking", seeds=1)
    with pytest.raises(ConfigError, match="workers"):
        ground_truth("reward_hacking", seeds=2, workers=0)
    with pytest.raises(ConfigError, match="known testbeds"):
        ground_truth("nope")


# -- the real testbeds -----------------------------------------------------------------------

DECISIVE = {
    # question id -> its answer at 300 seeds, for questions whose effect is many SEs from the
    # threshold there; with a handful of seeds these must already come out the same way.
    "repeat_penalty_cuts_hacking": True,
    "early_stopping_cuts_hacking": False,
    "repeat_penalty_cuts_tampering": False,
    "reweight_worst_group": True,
    "regularization_worst_group": False,
    "drop_costs_id_accuracy": True,
    "diff_of_means_shift": False,
    "pca_shift": True,
    "decorrelated_shift": True,
    "more_weak_labels_pgr": False,
    "weaker_regularization_pgr": True,
}


@pytest.mark.parametrize(
    ("name", "seeds"),
    [("reward_hacking", 16), ("spurious_correlation", 8), ("probe_detection", 8),
     ("weak_to_strong", 8)],
)
def test_real_truths_are_sane(name: str, seeds: int) -> None:
    tb = get_testbed(name)
    truths = ground_truth(name, seeds=seeds, workers=1, progress=False)
    assert [t.question_id for t in truths] == [q.id for q in tb.questions]
    for t, q in zip(truths, tb.questions, strict=True):
        assert t.version == tb.version and t.n_seeds == seeds and t.metric == q.metric
        assert t.answer == q.holds(t.effect)
        assert math.isfinite(t.effect) and t.se >= 0
        if q.id in DECISIVE:
            assert t.answer == DECISIVE[q.id], (q.id, t.effect, t.se)
    answers = {t.answer for t in truths}
    assert answers == {True, False}, "each testbed asks questions answered yes and no"


def test_hacking_is_common_and_the_repeat_penalty_cuts_it() -> None:
    seeds = list(range(50))
    base = run_spec(ExperimentSpec(testbed="reward_hacking", seeds=seeds))
    fixed = run_spec(ExperimentSpec(testbed="reward_hacking", intervention="repeat_penalty",
                                    seeds=seeds))
    assert base.mean["hacking_rate"] > 0.4
    assert fixed.mean["hacking_rate"] < 0.5 * base.mean["hacking_rate"]
    assert fixed.mean["true_return"] > base.mean["true_return"] + 2
    # hacking is what the proxy rewards: the hacked policies score higher on it
    assert base.mean["proxy_return"] > fixed.mean["proxy_return"]
