"""The scikit-learn pieces the testbeds use, imported on first use and typed.

scikit-learn takes about a second to import, so `import autoalign.testbeds` must not pull it in;
each process pays it once, at its first run.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from ._threads import single_threaded


class LinearClassifier(Protocol):
    """The part of a fitted scikit-learn `LogisticRegression` the testbeds read."""

    coef_: NDArray[np.float64]
    intercept_: NDArray[np.float64]

    def predict(self, x: NDArray[np.float64]) -> NDArray[Any]: ...

    def predict_proba(self, x: NDArray[np.float64]) -> NDArray[np.float64]: ...

    def decision_function(self, x: NDArray[np.float64]) -> NDArray[np.float64]: ...


def logistic_regression(
    x: NDArray[np.float64],
    y: NDArray[Any],
    *,
    c: float,
    seed: int,
    sample_weight: NDArray[np.float64] | None = None,
) -> LinearClassifier:
    """An L2-regularised logistic regression (lbfgs, inverse strength `c`) fitted to (x, y)."""
    sk = _sklearn()
    model = sk.LogisticRegression(C=c, max_iter=1000, random_state=seed % 2**32)
    with single_threaded():  # again: the run's limit predates a first import of sklearn
        model.fit(x, y, sample_weight=sample_weight)
    fitted: LinearClassifier = model
    return fitted


def auroc(labels: NDArray[Any], scores: NDArray[np.float64]) -> float:
    """Area under the ROC curve of `scores` for binary `labels` (scikit-learn's, ties halved)."""
    return float(_sklearn().roc_auc_score(labels, scores))


class _Sklearn:
    def __init__(self) -> None:
        # Neither package ships type information.
        from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
        from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]

        self.LogisticRegression: Any = LogisticRegression
        self.roc_auc_score: Any = roc_auc_score


@functools.cache
def _sklearn() -> _Sklearn:
    return _Sklearn()
