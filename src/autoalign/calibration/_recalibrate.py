"""Recalibration maps: from a critic's stated probability to a calibrated one.

Two methods, each fitted to (stated probability, outcome) pairs with scikit-learn and stored as
plain JSON (`docs/statistics.md`):

- **Platt scaling**: a logistic regression on the logit of the stated probability (clipped to
  `[PLATT_EPS, 1 - PLATT_EPS]` so 0 and 1 have a finite logit), with no penalty:
  `q = 1 / (1 + exp(-(a * logit(p) + b)))`; params `{"method": "platt", "a", "b", "eps"}`.
- **Isotonic regression**: the non-decreasing step fit of the outcomes on the stated probability
  (`IsotonicRegression(out_of_bounds="clip")`), linear between its thresholds and constant past
  the ends; params `{"method": "isotonic", "x": [...], "y": [...]}` (the fitted thresholds).

`apply_map` needs only the params and numpy, so a result is reproducible from the stored params
without scikit-learn (and whatever version of it fitted them). `paired_log_loss_difference`
gives the paired bootstrap interval of the held-out log loss a map changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import ArrayLike

from ..errors import DataError
from ._metrics import BootstrapInterval, FloatArray, as_arrays

Method = Literal["platt", "isotonic"]
"""A recalibration method."""

METHODS: tuple[Method, ...] = get_args(Method)

PLATT_EPS = 1e-4
"""Stated probabilities are clipped to `[PLATT_EPS, 1 - PLATT_EPS]` before their logit: a critic
that says 0 or 1 would otherwise have an infinite logit."""


def _logit(p: FloatArray, eps: float) -> FloatArray:
    pc = np.clip(p, eps, 1.0 - eps)
    return np.asarray(np.log(pc) - np.log1p(-pc), dtype=np.float64)


def _both_outcomes(y: FloatArray, method: str) -> None:
    if np.all(y == y[0]):
        raise ValueError(f"{method}: every outcome is {int(y[0])}; a map needs both outcomes")


def fit_platt(p: ArrayLike, y: ArrayLike, *, eps: float = PLATT_EPS) -> dict[str, Any]:
    """Platt scaling fitted to stated probabilities `p` and outcomes `y` (0/1).

    An unpenalised scikit-learn `LogisticRegression` of `y` on `logit(clip(p, eps, 1 - eps))`;
    returns `{"method": "platt", "a": slope, "b": intercept, "eps": eps}`.

    Raises:
        ValueError: `p`, `y` are not probabilities and outcomes of one length, or hold one
            outcome only.
    """
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    pa, ya = as_arrays(p, y)
    _both_outcomes(ya, "platt")
    model = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000)  # no penalty
    model.fit(_logit(pa, eps).reshape(-1, 1), ya.astype(int))
    return {"method": "platt", "a": float(model.coef_[0][0]), "b": float(model.intercept_[0]),
            "eps": eps}


def fit_isotonic(p: ArrayLike, y: ArrayLike) -> dict[str, Any]:
    """Isotonic regression fitted to stated probabilities `p` and outcomes `y` (0/1).

    scikit-learn's `IsotonicRegression(y_min=0, y_max=1, increasing=True,
    out_of_bounds="clip")`; returns `{"method": "isotonic", "x": thresholds, "y": values}`.

    Raises:
        ValueError: as `fit_platt`.
    """
    from sklearn.isotonic import IsotonicRegression  # type: ignore[import-untyped]

    pa, ya = as_arrays(p, y)
    _both_outcomes(ya, "isotonic")
    model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    model.fit(pa, ya)
    return {"method": "isotonic",
            "x": [float(v) for v in model.X_thresholds_],
            "y": [float(v) for v in model.y_thresholds_]}


def fit_map(method: Method, p: ArrayLike, y: ArrayLike) -> dict[str, Any]:
    """The params of `method` fitted to (`p`, `y`).

    Raises:
        ValueError: an unknown method, or inputs `fit_platt` refuses.
    """
    if method == "platt":
        return fit_platt(p, y)
    if method == "isotonic":
        return fit_isotonic(p, y)
    raise ValueError(f"unknown recalibration method {method!r}; known: {', '.join(METHODS)}")


def _number(params: Mapping[str, Any], key: str) -> float:
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DataError(f"recalibration params {dict(params)!r}: {key!r} must be a finite "
                        f"number, got {value!r}")
    return float(value)


def _thresholds(params: Mapping[str, Any]) -> tuple[FloatArray, FloatArray]:
    xs, ys = params.get("x"), params.get("y")
    if not isinstance(xs, list) or not isinstance(ys, list) or not xs or len(xs) != len(ys):
        raise DataError(f"isotonic params need lists 'x' and 'y' of one non-zero length; got "
                        f"{xs!r} and {ys!r}")
    try:
        x = np.asarray(xs, dtype=np.float64)
        yv = np.asarray(ys, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"isotonic params: thresholds are not numbers ({exc})") from None
    if not (np.all(np.isfinite(x)) and np.all(np.diff(x) >= 0)):
        raise DataError(f"isotonic params: 'x' must be finite and non-decreasing; got {xs!r}")
    if not np.all((yv >= 0.0) & (yv <= 1.0)):
        raise DataError(f"isotonic params: 'y' must lie in [0, 1]; got {ys!r}")
    return x, yv


def apply_map_many(params: Mapping[str, Any], p: ArrayLike) -> FloatArray:
    """`apply_map` on each of the stated probabilities `p` (numpy only).

    Raises:
        DataError: the params are not a Platt or isotonic map as `fit_map` stores them.
        ValueError: `p` holds a value outside [0, 1].
    """
    pa = np.atleast_1d(np.asarray(p, dtype=np.float64))
    if not np.all((pa >= 0.0) & (pa <= 1.0)):
        raise ValueError(f"every stated probability must be in [0, 1]; got {p!r}")
    method = params.get("method")
    if method == "platt":
        a, b, eps = _number(params, "a"), _number(params, "b"), _number(params, "eps")
        if not 0.0 < eps < 0.5:
            raise DataError(f"platt params: eps must be in (0, 0.5); got {eps!r}")
        z = a * _logit(pa, eps) + b
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)
    if method == "isotonic":
        x, yv = _thresholds(params)
        # scikit-learn predicts by linear interpolation between the thresholds, clipped at the
        # ends (out_of_bounds="clip"); np.interp does the same.
        return np.asarray(np.interp(pa, x, yv), dtype=np.float64)
    raise DataError(f"recalibration params name no known method ({', '.join(METHODS)}): "
                    f"{dict(params)!r}")


def apply_map(params: Mapping[str, Any], p: float) -> float:
    """The calibrated probability of the stated probability `p` under the map `params` (as
    `fit_map` returns them and the critic version stores them); numpy only, no scikit-learn.

    Raises:
        DataError: the params are not a Platt or isotonic map.
        ValueError: `p` is outside [0, 1].
    """
    return float(apply_map_many(params, [p])[0])


def paired_log_loss_difference(
    before: ArrayLike,
    after: ArrayLike,
    y: ArrayLike,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    eps: float = 1e-15,
) -> tuple[float, BootstrapInterval]:
    """The difference in log loss `after - before` on the same items, and its paired percentile
    bootstrap interval (negative: `after` is better).

    Each replicate resamples the n items with replacement (`numpy.random.default_rng(seed)`)
    and takes the mean of the per-item differences `loss(after_i) - loss(before_i)`, so both
    predictions of an item are always drawn together (log loss is a mean of per-item losses,
    so this is exactly the difference of the two resampled log losses). Probabilities are
    clipped to `[eps, 1 - eps]` as `log_loss` clips them.

    Raises:
        ValueError: the inputs are not probabilities and outcomes of one length.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1; got {n_boot}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1); got {level!r}")
    pb, ya = as_arrays(before, y)
    pa, _ = as_arrays(after, y)

    def losses(q: FloatArray) -> FloatArray:
        qc = np.clip(q, eps, 1.0 - eps)
        return np.asarray(-(ya * np.log(qc) + (1.0 - ya) * np.log1p(-qc)), dtype=np.float64)

    diff = losses(pa) - losses(pb)
    rng = np.random.default_rng(seed)
    n = diff.size
    replicates = np.array([float(np.mean(diff[rng.integers(0, n, size=n)]))
                           for _ in range(n_boot)])
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    return float(np.mean(diff)), BootstrapInterval(
        low=float(low), high=float(high), level=level, n_boot=n_boot)


__all__ = [
    "METHODS",
    "PLATT_EPS",
    "Method",
    "apply_map",
    "apply_map_many",
    "fit_isotonic",
    "fit_map",
    "fit_platt",
    "paired_log_loss_difference",
]
