"""`weak_to_strong`: a strong student trained on a weak supervisor's labels."""

from __future__ import annotations

from collections.abc import Mapping
from statistics import NormalDist
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from ._base import Intervention, Knob, KnobValue, Metric, Question, Testbed
from ._registry import register_testbed
from ._sk import LinearClassifier, logistic_regression

_TEST_SIZE = 4000
_MIN_GAP = 0.02
"""A seed whose ceiling beats the weak supervisor by less than this reports PGR over this gap,
so PGR stays finite."""


@register_testbed
class WeakToStrong(Testbed):
    """Weak-to-strong generalisation with linear models on latent Gaussian data.

    A latent x ~ N(0, I_`dim`) has a true label sign(x·w*) (w* a random unit vector; a fraction
    `label_noise` of gold labels is flipped). The weak supervisor sees only `weak_features` of
    the coordinates and is a logistic regression trained on `weak_train` gold labels. The strong
    model sees a representation h = x + (salience - 1)(x·w*)w*, in which the true concept is
    a salient (high-variance) direction, the analogue of a pretrained model that already
    represents the task. The student is an L2 logistic regression on h (inverse strength
    `student_inverse_l2`) trained on the weak supervisor's hard labels for `n_student` fresh
    examples; the ceiling is the same model trained on gold labels for those examples.

    PGR (performance gap recovered) = (student - weak) / (ceiling - weak), accuracies on 4000
    fresh test examples.
    """

    name: ClassVar[str] = "weak_to_strong"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = (
        "A strong linear student trained on a weak linear supervisor's labels; performance gap "
        "recovered relative to a student trained on gold labels."
    )
    analogy: ClassVar[str] = (
        "Superalignment's weak-to-strong question: can a weak overseer's imperfect labels train "
        "a stronger model that generalises beyond the overseer's errors, and do tricks like an "
        "auxiliary confidence loss help? Limits: the strong model's advantage is hand-built "
        "(the concept is planted as a salient direction of its representation), both models are "
        "linear and convex, the weak supervisor's errors come only from missing features, and "
        "nothing here is deceptive or adversarial toward the supervisor."
    )
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob(name="dim", kind="int", default=20, low=4, high=200,
             doc="Dimension of the latent data."),
        Knob(name="weak_features", kind="int", default=6, low=1, high=200,
             doc="How many latent coordinates the weak supervisor sees (capped at dim)."),
        Knob(name="weak_train", kind="int", default=100, low=20, high=5000,
             doc="Gold labels the weak supervisor is trained on."),
        Knob(name="n_student", kind="int", default=1000, low=50, high=10000,
             doc="Examples the weak supervisor labels for the student."),
        Knob(name="salience", kind="float", default=3.0, low=1.0, high=20.0,
             doc="How much the true concept's direction is stretched in the strong model's "
                 "representation (1 = not at all)."),
        Knob(name="student_inverse_l2", kind="float", default=0.003, low=1e-5, high=1e4,
             doc="Inverse L2 strength of the student (and ceiling) logistic regression."),
        Knob(name="label_noise", kind="float", default=0.05, low=0.0, high=0.4,
             doc="Fraction of gold labels flipped (for the weak supervisor and the ceiling)."),
        Knob(name="aux_weight", kind="float", default=0.5, low=0.0, high=1.0,
             doc="With `confidence_loss`: weight of the student's own hardened predictions."),
        Knob(name="confidence_threshold", kind="float", default=0.2, low=0.0, high=0.49,
             doc="With `confidence_filter`: keep weak labels with abs(p - 0.5) above this."),
        Knob(name="regularization_factor", kind="float", default=100.0, low=1.0, high=1e4,
             doc="With `weaker_regularization`: the student's inverse L2 is multiplied by "
                 "this."),
    )
    interventions: ClassVar[tuple[Intervention, ...]] = (
        Intervention(name="confidence_loss",
                     doc="An auxiliary confidence loss, in two rounds: after fitting the weak "
                         "labels, the student is refitted to a mix of the weak labels (weight "
                         "1 - aux_weight) and its own hardened predictions (weight aux_weight)."),
        Intervention(name="confidence_filter",
                     doc="The student trains only on examples where the weak supervisor's "
                         "probability is at least `confidence_threshold` away from 0.5."),
        Intervention(name="weaker_regularization",
                     doc="The student's inverse L2 strength is multiplied by "
                         "`regularization_factor` (it can fit the weak labels more closely)."),
        Intervention(name="more_weak_labels",
                     doc="Four times as many weakly labelled examples for the student."),
    )
    metrics: ClassVar[tuple[Metric, ...]] = (
        Metric(name="pgr", higher_is_better=True,
               doc="Performance gap recovered: (student - weak) / (ceiling - weak) test "
                   "accuracy."),
        Metric(name="student_accuracy", higher_is_better=True,
               doc="Test accuracy of the student trained on weak labels."),
        Metric(name="weak_accuracy", higher_is_better=True,
               doc="Test accuracy of the weak supervisor."),
        Metric(name="ceiling_accuracy", higher_is_better=True,
               doc="Test accuracy of the strong model trained on gold labels."),
    )
    questions: ClassVar[tuple[Question, ...]] = (
        Question(id="confidence_loss_pgr",
                 text="Does the auxiliary confidence loss raise the performance gap recovered by "
                      "at least 0.06?",
                 intervention="confidence_loss", metric="pgr",
                 effect_kind="difference", threshold=0.06, direction="at_least"),
        Question(id="filter_beats_confidence_loss",
                 text="Does training only on the weak supervisor's confident labels recover more "
                      "of the gap than the auxiliary confidence loss?",
                 intervention="confidence_filter", comparison="confidence_loss", metric="pgr",
                 effect_kind="difference", threshold=0.0, direction="at_least"),
        Question(id="more_weak_labels_pgr",
                 text="Do four times as many weakly labelled examples raise the performance gap "
                      "recovered by at least 0.05?",
                 intervention="more_weak_labels", metric="pgr",
                 effect_kind="difference", threshold=0.05, direction="at_least"),
        Question(id="weaker_regularization_pgr",
                 text="Does a 100 times weaker L2 penalty on the student cut the performance gap "
                      "recovered by at least 50% relative?",
                 intervention="weaker_regularization", metric="pgr",
                 effect_kind="relative_change", threshold=-0.5, direction="at_most"),
    )

    def simulate(
        self, config: Mapping[str, KnobValue], *, intervention: str | None, seed: int
    ) -> Mapping[str, float]:
        setup_ss, weak_ss, student_ss, test_ss, fit_ss = np.random.SeedSequence(seed).spawn(5)
        rng = np.random.default_rng(setup_ss)
        fit_seed = int(fit_ss.generate_state(1)[0])
        dim = int(config["dim"])
        w_true = rng.standard_normal(dim)
        w_true /= np.linalg.norm(w_true)
        visible = rng.permutation(dim)[: min(int(config["weak_features"]), dim)]
        salience = float(config["salience"])
        noise = float(config["label_noise"])

        flip_below = NormalDist().inv_cdf(noise) if noise > 0 else -np.inf

        def sample(
            ss: np.random.SeedSequence, n: int
        ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
            """(latent x, true labels, gold labels with noise); the first rows of a larger
            sample from the same stream are the smaller sample (pairs `more_weak_labels`)."""
            z = np.random.default_rng(ss).standard_normal((n, dim + 1))
            x = z[:, :dim]
            y = np.where(x @ w_true > 0, 1, -1)
            gold = np.where(z[:, dim] < flip_below, -y, y)
            return x, y, gold

        def strong(x: NDArray[np.float64]) -> NDArray[np.float64]:
            h: NDArray[np.float64] = x + (salience - 1.0) * np.outer(x @ w_true, w_true)
            return h

        x_weak, _, gold_weak = sample(weak_ss, int(config["weak_train"]))
        n_student = int(config["n_student"])
        if intervention == "more_weak_labels":
            n_student *= 4
        x_student, _, gold_student = sample(student_ss, n_student)
        x_test, y_test, _ = sample(test_ss, _TEST_SIZE)

        weak = logistic_regression(x_weak[:, visible], gold_weak, c=1.0, seed=fit_seed)
        weak_prob = weak.predict_proba(x_student[:, visible])[:, 1]
        weak_labels = np.where(weak_prob > 0.5, 1, -1)

        c = float(config["student_inverse_l2"])
        if intervention == "weaker_regularization":
            c *= float(config["regularization_factor"])
        h_student = strong(x_student)
        student: LinearClassifier
        if intervention == "confidence_filter":
            keep = np.abs(weak_prob - 0.5) >= float(config["confidence_threshold"])
            if len(np.unique(weak_labels[keep])) < 2:  # too few kept to fit: use them all
                keep[:] = True
            student = logistic_regression(h_student[keep], weak_labels[keep], c=c, seed=fit_seed)
        else:
            student = logistic_regression(h_student, weak_labels, c=c, seed=fit_seed)
        if intervention == "confidence_loss":
            alpha = float(config["aux_weight"])
            own = student.predict(h_student)
            targets = np.concatenate([weak_labels, own])
            weights = np.concatenate(
                [np.full(n_student, 1.0 - alpha), np.full(n_student, alpha)]
            )
            if len(np.unique(targets[weights > 0])) == 2:
                student = logistic_regression(
                    np.vstack([h_student, h_student]), targets, c=c, seed=fit_seed,
                    sample_weight=weights,
                )
        ceiling = logistic_regression(
            strong(x_student[: int(config["n_student"])]),
            gold_student[: int(config["n_student"])], c=float(config["student_inverse_l2"]),
            seed=fit_seed,
        )

        h_test = strong(x_test)
        weak_acc = float((weak.predict(x_test[:, visible]) == y_test).mean())
        student_acc = float((student.predict(h_test) == y_test).mean())
        ceiling_acc = float((ceiling.predict(h_test) == y_test).mean())
        gap = max(ceiling_acc - weak_acc, _MIN_GAP)
        return {
            "pgr": (student_acc - weak_acc) / gap,
            "student_accuracy": student_acc,
            "weak_accuracy": weak_acc,
            "ceiling_accuracy": ceiling_acc,
        }
