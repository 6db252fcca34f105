"""`probe_detection`: linear probes for a planted concept in synthetic activations, under shift."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from ._base import Intervention, Knob, KnobValue, Metric, Question, Testbed
from ._registry import register_testbed
from ._sk import auroc, logistic_regression

_TEST_SIZE = 2000
_METHOD_INTERVENTIONS = {"diff_of_means": "diff_of_means", "pca": "pca"}


@register_testbed
class ProbeDetection(Testbed):
    """Synthetic activations with a planted concept direction, distractors and a shift.

    Each seed draws orthonormal directions in R^`dim`: the concept direction u and
    `n_distractors` distractor directions. An activation is
    `s·signal/2·u + Σ_j g_j·v_j + N(0, I)` with s = ±1 the concept label and g_j ~
    N(0, distractor_scale²). In training the first distractor is correlated with the concept
    (g_1 = distractor_scale·(train_corr·s + sqrt(1 - train_corr²)·z)); under the shift that
    correlation becomes `shift_corr` and every distractor's scale is multiplied by `shift_scale`
    (an analogue of training a detector on one distribution of prompts and deploying it on
    another). A probe (a direction) is fitted on `n_train` labelled activations and scored by
    AUROC on 2000 fresh activations with and without the shift.

    Probe methods: `logistic` (L2 logistic regression, inverse strength `inverse_l2`),
    `diff_of_means` (mean of positives minus mean of negatives) and `pca` (the top principal
    component of the training activations, signed to agree with the difference of means).
    """

    name: ClassVar[str] = "probe_detection"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = (
        "Linear probes (logistic regression, difference of means, PCA) for a planted concept in "
        "synthetic activations with distractors; AUROC under a distribution shift."
    )
    analogy: ClassVar[str] = (
        "Detecting a safety-relevant concept (deception, harmful intent) in a model's "
        "activations with linear probes trained on one distribution and used on another: do "
        "probes find the concept or a correlate of it, and which methods survive the shift? "
        "Limits: the concept really is one linear direction, activations are Gaussian with "
        "independent directions, the distractor that carries the spurious correlation is also "
        "a clean direction, and the shift changes exactly one correlation and the distractor "
        "scales; real activations are heavy-tailed, features are superposed, and concepts need "
        "not be linear."
    )
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob(name="method", kind="choice", default="logistic",
             choices=("logistic", "diff_of_means", "pca"),
             doc="Probe method when no method intervention overrides it."),
        Knob(name="dim", kind="int", default=32, low=8, high=256,
             doc="Dimension of the activations."),
        Knob(name="n_train", kind="int", default=200, low=20, high=5000,
             doc="Labelled training activations."),
        Knob(name="signal", kind="float", default=1.5, low=0.0, high=5.0,
             doc="Separation of the two classes along the concept direction, in noise sds."),
        Knob(name="n_distractors", kind="int", default=3, low=1, high=8,
             doc="High-variance distractor directions (the first one is spuriously correlated)."),
        Knob(name="distractor_scale", kind="float", default=3.0, low=0.0, high=10.0,
             doc="Standard deviation of the activations along each distractor direction."),
        Knob(name="train_corr", kind="float", default=0.5, low=-1.0, high=1.0,
             doc="Correlation of the first distractor with the concept in training."),
        Knob(name="shift_corr", kind="float", default=0.0, low=-1.0, high=1.0,
             doc="That correlation under the shift."),
        Knob(name="shift_scale", kind="float", default=1.5, low=0.1, high=5.0,
             doc="Factor on every distractor's standard deviation under the shift."),
        Knob(name="inverse_l2", kind="float", default=1.0, low=1e-4, high=1e4,
             doc="Inverse L2 strength of the logistic probe."),
        Knob(name="data_multiplier", kind="int", default=4, low=2, high=10,
             doc="With `more_data`: how many times more training activations."),
    )
    interventions: ClassVar[tuple[Intervention, ...]] = (
        Intervention(name="diff_of_means",
                     doc="The probe is the difference of class means (overrides `method`)."),
        Intervention(name="pca",
                     doc="The probe is the top principal component (overrides `method`)."),
        Intervention(name="more_data",
                     doc="`data_multiplier` times as many training activations, from the same "
                         "(spuriously correlated) training distribution."),
        Intervention(name="decorrelated_data",
                     doc="The training activations are collected so that the first distractor "
                         "is uncorrelated with the concept (train_corr = 0), e.g. by balancing "
                         "contrast pairs."),
    )
    metrics: ClassVar[tuple[Metric, ...]] = (
        Metric(name="auroc_shift", higher_is_better=True,
               doc="AUROC of the probe's score for the concept on shifted activations."),
        Metric(name="auroc_id", higher_is_better=True,
               doc="AUROC on activations from the training distribution."),
        Metric(name="concept_cosine", higher_is_better=True,
               doc="Absolute cosine between the probe direction and the planted concept "
                   "direction."),
    )
    questions: ClassVar[tuple[Question, ...]] = (
        Question(id="diff_of_means_shift",
                 text="Does a difference-of-means probe keep at least as much AUROC under the "
                      "shift as a logistic-regression probe?",
                 intervention="diff_of_means", metric="auroc_shift",
                 effect_kind="difference", threshold=0.0, direction="at_least"),
        Question(id="pca_shift",
                 text="Does a PCA probe lose at least 0.15 AUROC under the shift compared with a "
                      "logistic-regression probe?",
                 intervention="pca", metric="auroc_shift",
                 effect_kind="difference", threshold=-0.15, direction="at_most"),
        Question(id="more_data_shift",
                 text="Does four times as much training data raise the logistic probe's AUROC "
                      "under the shift by at least 0.035?",
                 intervention="more_data", metric="auroc_shift",
                 effect_kind="difference", threshold=0.035, direction="at_least"),
        Question(id="decorrelated_shift",
                 text="Does training on decorrelated data raise the logistic probe's AUROC under "
                      "the shift by at least 0.05?",
                 intervention="decorrelated_data", metric="auroc_shift",
                 effect_kind="difference", threshold=0.05, direction="at_least"),
        Question(id="decorrelated_costs_id",
                 text="Does training on decorrelated data cost at least 5% (relative) of the "
                      "probe's in-distribution AUROC?",
                 intervention="decorrelated_data", metric="auroc_id",
                 effect_kind="relative_change", threshold=-0.05, direction="at_most"),
    )

    def simulate(
        self, config: Mapping[str, KnobValue], *, intervention: str | None, seed: int
    ) -> Mapping[str, float]:
        data_ss, fit_ss = np.random.SeedSequence(seed).spawn(2)
        rng = np.random.default_rng(data_ss)
        dim = int(config["dim"])
        k = min(int(config["n_distractors"]), dim - 1)
        basis, _ = np.linalg.qr(rng.standard_normal((dim, k + 1)))
        u, distractors = basis[:, 0], basis[:, 1:].T
        scale = float(config["distractor_scale"])
        signal = float(config["signal"])
        n_train = int(config["n_train"])
        if intervention == "more_data":
            n_train *= int(config["data_multiplier"])
        train_corr = 0.0 if intervention == "decorrelated_data" else float(config["train_corr"])

        def sample(
            n: int, corr: float, dscale: float
        ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
            s = rng.choice(np.array([-1, 1]), size=n)
            g = rng.standard_normal((n, k))
            g[:, 0] = corr * s + np.sqrt(1.0 - corr**2) * g[:, 0]
            x = rng.standard_normal((n, dim)) + np.outer(s * signal / 2, u)
            x += (g * dscale) @ distractors
            return x, s

        x, s = sample(n_train, train_corr, scale)
        x_id, s_id = sample(_TEST_SIZE, float(config["train_corr"]), scale)
        x_shift, s_shift = sample(
            _TEST_SIZE, float(config["shift_corr"]), scale * float(config["shift_scale"])
        )
        method = _METHOD_INTERVENTIONS.get(intervention or "", str(config["method"]))
        w = _fit_probe(method, x, s, c=float(config["inverse_l2"]),
                       seed=int(fit_ss.generate_state(1)[0]))
        norm = float(np.linalg.norm(w))
        cosine = abs(float(w @ u)) / norm if norm > 0 else 0.0
        return {
            "auroc_shift": auroc(s_shift, x_shift @ w),
            "auroc_id": auroc(s_id, x_id @ w),
            "concept_cosine": cosine,
        }


def _fit_probe(
    method: str, x: NDArray[np.float64], s: NDArray[np.int64], *, c: float, seed: int
) -> NDArray[np.float64]:
    """The probe direction (a score is x @ direction)."""
    diff: NDArray[np.float64] = x[s > 0].mean(axis=0) - x[s < 0].mean(axis=0)
    if method == "diff_of_means":
        return diff
    if method == "pca":
        centred = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        top: NDArray[np.float64] = vt[0]
        return top if float(top @ diff) >= 0 else -top
    model = logistic_regression(x, s, c=c, seed=seed)
    coef: NDArray[np.float64] = model.coef_[0]
    return coef
