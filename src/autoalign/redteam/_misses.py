"""Do critics miss the same flaws? Joint misses against the independence product, the phi
coefficient, a Mantel-Haenszel odds ratio stratified by flaw type, and the escape probability
of a set of critics computed both ways.

A safety case that multiplies miss rates assumes the critics miss independently; these numbers
test that assumption on subjects every critic in question ran on. Definitions in
`docs/statistics.md`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
from numpy.typing import NDArray

from ..errors import DataError
from ._metric import Detail, Metric, interval
from ._rates import BoolMatrix, FlawedTable, bootstrap_rows, column_rates, proportion_metrics


def phi(misses: BoolMatrix) -> float:
    """The phi coefficient of two 0/1 columns (rows: subjects; True: missed): Pearson's
    correlation of the two miss indicators, `(n11 n00 - n10 n01) / sqrt(n1. n0. n.1 n.0)`.
    NaN when a margin is zero (a critic that missed everything or nothing)."""
    weights = np.ones((1, misses.shape[0]), dtype=np.int64)
    return float(_phi_stat(misses, weights)[0])


def _phi_stat(patterns: BoolMatrix, draws: NDArray[np.int64]) -> NDArray[np.float64]:
    a = patterns[:, 0].astype(np.float64)
    b = patterns[:, 1].astype(np.float64)
    n = draws.sum(axis=1).astype(np.float64)
    n11 = draws @ (a * b)
    na = draws @ a
    nb = draws @ b
    denom = na * (n - na) * nb * (n - nb)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (n * n11 - na * nb) / np.sqrt(denom)
    return np.where(denom > 0, out, np.nan)


def _product_stat(patterns: BoolMatrix, draws: NDArray[np.int64]) -> NDArray[np.float64]:
    return np.asarray(np.prod(column_rates(patterns, draws), axis=1), dtype=np.float64)


def _pair_misses(table: FlawedTable, a: str, b: str) -> tuple[BoolMatrix, list[str]]:
    ia, ib = table.column(a), table.column(b)
    both = table.ran[:, ia] & table.ran[:, ib]
    types = [t for t, keep in zip(table.flaw_types, both, strict=True) if keep]
    return ~table.detected[both][:, [ia, ib]], types


def _counts(m: BoolMatrix) -> tuple[int, int, int, int]:
    """(both missed, only a missed, only b missed, neither missed)."""
    a, b = m[:, 0], m[:, 1]
    return (
        int(np.sum(a & b)), int(np.sum(a & ~b)), int(np.sum(~a & b)), int(np.sum(~a & ~b))
    )


def mantel_haenszel(tables: Sequence[tuple[int, int, int, int]], *, level: float = 0.95) -> Detail:
    """Pooled odds ratio of 2x2 tables `(n11, n10, n01, n00)`, one per stratum, with statsmodels'
    `StratifiedTable`: the Mantel-Haenszel estimate, its interval (Robins-Breslow-Greenland
    variance), the Cochran-Mantel-Haenszel test of a common odds ratio of 1 (no continuity
    correction) and the Breslow-Day test that the odds ratio is the same in every stratum.

    Strata with fewer than two subjects carry no information and are dropped. Values that are
    not defined on the data (an empty denominator) are None.

    Raises:
        DataError: no stratum has two subjects.
    """
    from statsmodels.stats.contingency_tables import (  # type: ignore[import-untyped]
        StratifiedTable,
    )

    kept = [t for t in tables if sum(t) >= 2]
    if not kept:
        raise DataError("no stratum has two subjects: the Mantel-Haenszel odds ratio needs data")
    arr = np.array([[[t[0], t[1]], [t[2], t[3]]] for t in kept], dtype=np.float64)
    st = StratifiedTable(np.moveaxis(arr, 0, -1))
    out: Detail = {"strata": len(kept)}
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(st.oddsratio_pooled)
        out["odds_ratio"] = ratio if np.isfinite(ratio) and ratio > 0 else None
        if out["odds_ratio"] is None:
            # A sum of the ratio is empty, so it is 0 or infinite (misses nested: one critic
            # never missed a subject the other caught).
            out["note"] = "undefined: n11*n00 = 0 in every stratum, or n10*n01 = 0 in every stratum"
        if out["odds_ratio"] is not None:
            low, high = st.oddsratio_pooled_confint(alpha=1.0 - level)
            finite = np.isfinite(low) and np.isfinite(high)
            out["ci_low"] = float(low) if finite else None
            out["ci_high"] = float(high) if finite else None
        null = st.test_null_odds(correction=False)
        out["cmh_statistic"] = _finite(null.statistic)
        out["cmh_p"] = _finite(null.pvalue)
        if len(kept) >= 2:
            try:
                equal = st.test_equal_odds()
                out["breslow_day_p"] = _finite(equal.pvalue)
            except (ZeroDivisionError, ValueError, np.linalg.LinAlgError):
                # Breslow-Day solves a quadratic per stratum; degenerate strata have no root.
                out["breslow_day_p"] = None
    return out


def _finite(x: object) -> float | None:
    v = float(x)  # type: ignore[arg-type]  # statsmodels returns numpy scalars, untyped
    return v if np.isfinite(v) else None


def miss_correlation(
    table: FlawedTable, *, level: float = 0.95, n_boot: int = 1000, seed: int = 0
) -> list[Metric]:
    """For each pair of critics, on the flawed subjects both ran on (n: those subjects):

    - `joint_miss_rate`: both missed / n (Wilson, Clopper-Pearson);
    - `independent_miss_product`: miss rate of a times miss rate of b, what the joint rate would
      be if they missed independently (subject bootstrap);
    - `miss_phi`: the phi coefficient of the two miss indicators (subject bootstrap), overall
      and per flaw type (`flaw_type` key);
    - `miss_odds_ratio_mh`: the Mantel-Haenszel odds ratio of missing together, stratified by
      flaw type, with its interval and the CMH and Breslow-Day tests in `detail`.
    """
    out: list[Metric] = []
    for a, b in combinations(table.critics, 2):
        misses, types = _pair_misses(table, a, b)
        n = int(misses.shape[0])
        if n == 0:
            continue
        keys = {"critic_a": a, "critic_b": b}
        n11, n10, n01, n00 = _counts(misses)
        counts: Detail = {
            "both_missed": n11, "only_a_missed": n10, "only_b_missed": n01, "neither": n00
        }
        out += proportion_metrics("joint_miss_rate", keys, n11, n, level=level, detail=counts)
        product = float((n11 + n10) / n * (n11 + n01) / n)
        ci = bootstrap_rows(_product_stat, misses, n_boot=n_boot, level=level, seed=seed)
        out.append(
            Metric(
                name="independent_miss_product", keys=keys, estimate=product, n=n,
                interval=interval(*ci, level) if ci else None, method="bootstrap-percentile",
                detail={"joint_over_product": n11 / n / product if product > 0 else None},
            )
        )
        out += _phi_metrics(keys, misses, level=level, n_boot=n_boot, seed=seed)
        strata: list[tuple[int, int, int, int]] = []
        for flaw_type in sorted(set(types)):
            rows = np.array([t == flaw_type for t in types])
            strata.append(_counts(misses[rows]))
            out += _phi_metrics(
                {**keys, "flaw_type": flaw_type}, misses[rows], level=level, n_boot=n_boot,
                seed=seed,
            )
        if any(sum(s) >= 2 for s in strata):
            mh = mantel_haenszel(strata, level=level)
            low, high = mh.get("ci_low"), mh.get("ci_high")
            ratio = mh["odds_ratio"]
            out.append(
                Metric(
                    name="miss_odds_ratio_mh", keys=keys,
                    estimate=float(ratio) if ratio is not None else None, n=n,
                    interval=interval(float(low), float(high), level)
                    if low is not None and high is not None else None,
                    method="mantel-haenszel", detail=mh,
                )
            )
    return out


def _phi_metrics(
    keys: dict[str, str], misses: BoolMatrix, *, level: float, n_boot: int, seed: int
) -> list[Metric]:
    n = int(misses.shape[0])
    if n == 0:
        return []
    value = phi(misses)
    ci = bootstrap_rows(_phi_stat, misses, n_boot=n_boot, level=level, seed=seed)
    return [
        Metric(
            name="miss_phi", keys=keys, estimate=None if np.isnan(value) else value, n=n,
            interval=interval(*ci, level) if ci and not np.isnan(value) else None,
            method="bootstrap-percentile",
        )
    ]


def escape(
    table: FlawedTable,
    critics: Sequence[str] | None = None,
    *,
    level: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[Metric]:
    """The probability that a flaw escapes every critic of a set, two ways, on the flawed
    subjects every critic of the set ran on (n: those subjects):

    - `escape_observed`: subjects all of them missed / n (Wilson, Clopper-Pearson);
    - `escape_independent`: the product of their miss rates on the same subjects, what a safety
      case gets by assuming independence (subject bootstrap).

    `detail.observed_over_independent` above 1 means the critics miss together more than
    independence predicts. `critics` defaults to every critic.

    Raises:
        DataError: a critic of the set has no trial on a flawed subject.
    """
    chosen = tuple(sorted(critics)) if critics is not None else table.critics
    unknown = [c for c in chosen if c not in table.critics]
    if unknown:
        raise DataError(
            f"critics {unknown} have no trials on flawed subjects; the critics with trials are "
            f"{list(table.critics)}"
        )
    if not chosen:
        return []
    cols = [table.column(c) for c in chosen]
    rows = np.all(table.ran[:, cols], axis=1)
    misses = ~table.detected[rows][:, cols]
    n = int(misses.shape[0])
    if n == 0:
        return []
    keys = {"critics": "+".join(chosen)}
    k = int(np.sum(np.all(misses, axis=1)))
    product = float(np.prod(misses.mean(axis=0)))
    detail: Detail = {
        "all_missed": k,
        "critics_in_set": len(chosen),
        "observed_over_independent": k / n / product if product > 0 else None,
    }
    out = proportion_metrics("escape_observed", keys, k, n, level=level, detail=detail)
    ci = bootstrap_rows(_product_stat, misses, n_boot=n_boot, level=level, seed=seed)
    out.append(
        Metric(
            name="escape_independent", keys=keys, estimate=product, n=n,
            interval=interval(*ci, level) if ci else None, method="bootstrap-percentile",
            detail=detail,
        )
    )
    return out


__all__ = ["escape", "mantel_haenszel", "miss_correlation", "phi"]
