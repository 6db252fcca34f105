"""`spurious_correlation`: logistic regression that can lean on a feature that stops working."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from ._base import Intervention, Knob, KnobValue, Metric, Question, Testbed
from ._registry import register_testbed
from ._sk import logistic_regression

_TEST_SIZE = 4000


@register_testbed
class SpuriousCorrelation(Testbed):
    """A binary label, a noisy core feature, a clean spurious one, and noise features.

    Each example has a label y (±1, balanced) and an attribute a (±1) that equals y with
    probability `train_agreement` in training and `test_agreement` at test. Features: the core
    feature y·`core_signal` + N(0, 1), which always predicts y; the spurious feature
    a·`spurious_signal` + N(0, 1), which predicts y only while a agrees with y; and `noise_dims`
    N(0, 1) features. Groups are the four (y, a) pairs; in training the two groups with a ≠ y are
    rare. An L2-regularised logistic regression (inverse strength `inverse_l2`) is trained on
    `n_train` examples and evaluated on fresh test sets of 4000.
    """

    name: ClassVar[str] = "spurious_correlation"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = (
        "Logistic regression trained where a spurious feature predicts the label, tested where "
        "it does not; worst-group and out-of-distribution accuracy."
    )
    analogy: ClassVar[str] = (
        "Goal misgeneralisation and shortcut learning: training rewards a proxy that coincides "
        "with the intended goal, and the learned policy follows the proxy once the two come "
        "apart. Limits: the model is linear and convex (one optimum, no path dependence or "
        "inductive-bias story beyond L2), the spurious feature is a single known column that "
        "can simply be dropped, groups are known at training time (real shortcuts are rarely "
        "labelled), and the shift is a clean change of one correlation."
    )
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob(name="n_train", kind="int", default=400, low=50, high=5000,
             doc="Training examples."),
        Knob(name="train_agreement", kind="float", default=0.95, low=0.5, high=1.0,
             doc="P(a = y) in training: how often the spurious feature agrees with the label."),
        Knob(name="test_agreement", kind="float", default=0.5, low=0.0, high=1.0,
             doc="P(a = y) in the out-of-distribution test set."),
        Knob(name="core_signal", kind="float", default=1.0, low=0.0, high=5.0,
             doc="Mean shift of the core feature per class, in noise standard deviations."),
        Knob(name="spurious_signal", kind="float", default=2.0, low=0.0, high=5.0,
             doc="Mean shift of the spurious feature per attribute value."),
        Knob(name="noise_dims", kind="int", default=10, low=0, high=200,
             doc="Number of pure-noise features."),
        Knob(name="inverse_l2", kind="float", default=1.0, low=1e-4, high=1e4,
             doc="Inverse L2 regularisation strength of the logistic regression."),
        Knob(name="data_multiplier", kind="int", default=4, low=2, high=10,
             doc="With `more_data`: how many times more training examples."),
        Knob(name="regularization_factor", kind="float", default=100.0, low=1.0, high=1e4,
             doc="With `strong_regularization`: `inverse_l2` is divided by this."),
    )
    interventions: ClassVar[tuple[Intervention, ...]] = (
        Intervention(name="group_reweight",
                     doc="Training examples are weighted inversely to the size of their (y, a) "
                         "group, so every group carries the same total weight."),
        Intervention(name="more_data",
                     doc="`data_multiplier` times as many training examples from the same "
                         "(spuriously correlated) distribution."),
        Intervention(name="strong_regularization",
                     doc="`inverse_l2` is divided by `regularization_factor` (a stronger L2 "
                         "penalty)."),
        Intervention(name="drop_spurious",
                     doc="The spurious feature is removed from the inputs (train and test)."),
    )
    metrics: ClassVar[tuple[Metric, ...]] = (
        Metric(name="worst_group_accuracy", higher_is_better=True,
               doc="Lowest accuracy over the four (y, a) groups of a test set with P(a = y) = "
                   "0.5."),
        Metric(name="ood_accuracy", higher_is_better=True,
               doc="Accuracy on a test set with P(a = y) = `test_agreement`."),
        Metric(name="id_accuracy", higher_is_better=True,
               doc="Accuracy on a test set from the training distribution."),
        Metric(name="spurious_reliance", higher_is_better=False,
               doc="abs(w_spurious) / (abs(w_spurious) + abs(w_core)) of the fitted weights "
                   "(0 when the feature is dropped)."),
    )
    questions: ClassVar[tuple[Question, ...]] = (
        Question(id="reweight_worst_group",
                 text="Does reweighting the groups to equal weight raise worst-group accuracy by "
                      "at least 0.2?",
                 intervention="group_reweight", metric="worst_group_accuracy",
                 effect_kind="difference", threshold=0.2, direction="at_least"),
        Question(id="more_data_worst_group",
                 text="Does four times as much training data raise worst-group accuracy by at "
                      "least 0.05?",
                 intervention="more_data", metric="worst_group_accuracy",
                 effect_kind="difference", threshold=0.05, direction="at_least"),
        Question(id="regularization_worst_group",
                 text="Does a 100 times stronger L2 penalty raise worst-group accuracy by at "
                      "least 0.02?",
                 intervention="strong_regularization", metric="worst_group_accuracy",
                 effect_kind="difference", threshold=0.02, direction="at_least"),
        Question(id="drop_beats_reweight",
                 text="Does dropping the spurious feature beat group reweighting on worst-group "
                      "accuracy by at least 0.09?",
                 intervention="drop_spurious", comparison="group_reweight",
                 metric="worst_group_accuracy", effect_kind="difference", threshold=0.09,
                 direction="at_least"),
        Question(id="drop_costs_id_accuracy",
                 text="Does dropping the spurious feature cost at least 10% (relative) of "
                      "in-distribution accuracy?",
                 intervention="drop_spurious", metric="id_accuracy",
                 effect_kind="relative_change", threshold=-0.1, direction="at_most"),
    )

    def simulate(
        self, config: Mapping[str, KnobValue], *, intervention: str | None, seed: int
    ) -> Mapping[str, float]:
        data_ss, fit_ss = np.random.SeedSequence(seed).spawn(2)
        rng = np.random.default_rng(data_ss)
        n_train = int(config["n_train"])
        if intervention == "more_data":
            n_train *= int(config["data_multiplier"])
        train_agree = float(config["train_agreement"])
        x, y, a = _sample(rng, n_train, train_agree, config)
        balanced = _sample(rng, _TEST_SIZE, 0.5, config)
        ood = _sample(rng, _TEST_SIZE, float(config["test_agreement"]), config)
        iid = _sample(rng, _TEST_SIZE, train_agree, config)

        keep = np.ones(x.shape[1], dtype=bool)
        if intervention == "drop_spurious":
            keep[1] = False
        weights = None
        if intervention == "group_reweight":
            groups = 2 * (y > 0) + (a > 0)
            counts = np.maximum(np.bincount(groups, minlength=4), 1).astype(float)
            weights = (len(y) / (4 * counts))[groups]
        c = float(config["inverse_l2"])
        if intervention == "strong_regularization":
            c /= float(config["regularization_factor"])
        model = logistic_regression(
            x[:, keep], y, c=c, sample_weight=weights,
            seed=int(fit_ss.generate_state(1)[0]),
        )

        def accuracy(xs: NDArray[np.float64], ys: NDArray[np.int64]) -> NDArray[np.bool_]:
            result: NDArray[np.bool_] = model.predict(xs[:, keep]) == ys
            return result

        bx, by, ba = balanced
        correct = accuracy(bx, by)
        worst = min(
            float(correct[(by == gy) & (ba == ga)].mean()) for gy in (-1, 1) for ga in (-1, 1)
        )
        w = np.zeros(x.shape[1])
        w[keep] = model.coef_[0]
        reliance = abs(w[1]) / (abs(w[1]) + abs(w[0]) + 1e-12)
        return {
            "worst_group_accuracy": worst,
            "ood_accuracy": float(accuracy(ood[0], ood[1]).mean()),
            "id_accuracy": float(accuracy(iid[0], iid[1]).mean()),
            "spurious_reliance": float(reliance),
        }


def _sample(
    rng: np.random.Generator, n: int, agreement: float, config: Mapping[str, KnobValue]
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """(features, labels ±1, attributes ±1); column 0 is the core feature, column 1 the spurious."""
    y = rng.choice(np.array([-1, 1]), size=n)
    a = np.where(rng.random(n) < agreement, y, -y)
    x = rng.standard_normal((n, 2 + int(config["noise_dims"])))
    x[:, 0] += y * float(config["core_signal"])
    x[:, 1] += a * float(config["spurious_signal"])
    return x, y, a
