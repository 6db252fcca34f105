"""The realism check: can a simple classifier tell injected subjects from organic ones?

An injection that leaves a trace (a phrase, a format, a length) measures the critics' eye for
that trace, not for the flaw. A TF-IDF + logistic regression classifier is trained and scored by
stratified k-fold cross-validation; its out-of-fold AUC near 0.5 means the injections look like
organic text to it (not to every reader), near 1 that they are easy to tell apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

from ..errors import DataError
from ._metric import Metric, interval


def hanley_mcneil_se(auc: float, n_positive: int, n_negative: int) -> float:
    """Standard error of an AUC (Hanley and McNeil 1982):
    `sqrt((A(1-A) + (n1-1)(Q1-A²) + (n2-1)(Q2-A²)) / (n1 n2))`, `Q1 = A/(2-A)`,
    `Q2 = 2A²/(1+A)`, n1 positives (injected), n2 negatives (organic)."""
    if n_positive < 1 or n_negative < 1:
        raise ValueError(f"need at least one of each class; got {n_positive} and {n_negative}")
    a = auc
    q1 = a / (2 - a)
    q2 = 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_positive - 1) * (q1 - a * a) + (n_negative - 1) * (q2 - a * a)) / (
        n_positive * n_negative
    )
    return math.sqrt(max(var, 0.0))


def realism_auc(
    injected: Sequence[str],
    organic: Sequence[str],
    *,
    folds: int = 5,
    level: float = 0.95,
    seed: int = 0,
) -> Metric:
    """Cross-validated AUC of TF-IDF (words, sublinear tf) + logistic regression telling
    `injected` texts (positives) from `organic` ones.

    Single words, not word pairs: with tens of texts, pairs outnumber the texts many times and
    drown a telltale word in noise, and a check that misses a literal marker is too weak.

    Stratified `folds`-fold (at most the smaller class's size), shuffled with `seed`; the AUC is
    computed once on all out-of-fold scores. The interval is Hanley-McNeil's normal interval,
    clipped to [0, 1]. n: texts.

    Raises:
        DataError: fewer than two texts of either class.
    """
    if len(injected) < 2 or len(organic) < 2:
        raise DataError(
            f"the realism check needs at least two injected and two organic texts; got "
            f"{len(injected)} injected and {len(organic)} organic"
        )
    # scikit-learn ships no type information.
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]
    from sklearn.model_selection import (  # type: ignore[import-untyped]
        StratifiedKFold,
        cross_val_predict,
    )
    from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]

    texts = [*injected, *organic]
    labels = np.array([1] * len(injected) + [0] * len(organic))
    k = max(2, min(folds, len(injected), len(organic)))
    model = make_pipeline(
        TfidfVectorizer(sublinear_tf=True),
        LogisticRegression(max_iter=1000),
    )
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    scores = cross_val_predict(model, texts, labels, cv=cv, method="predict_proba")[:, 1]
    auc = float(roc_auc_score(labels, scores))
    se = hanley_mcneil_se(auc, len(injected), len(organic))
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    return Metric(
        name="realism_auc", keys={}, estimate=auc, n=len(texts),
        interval=interval(max(0.0, auc - z * se), min(1.0, auc + z * se), level),
        method="tfidf-logreg-cv-hanley-mcneil",
        detail={"injected": len(injected), "organic": len(organic), "folds": k, "se": se},
    )


__all__ = ["hanley_mcneil_se", "realism_auc"]
