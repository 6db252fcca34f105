"""Recalibrating a critic's stated probabilities from its labels (`docs/learning.md`).

`recalibrate` reads the labels that pair a critic's stated probability with the truth (was the
subject severely flawed?), splits them by time (the most recent `holdout` share, by when their
truth became known, is held out), fits each method (`autoalign.calibration.fit_map`: Platt,
isotonic) on the earlier part, and compares their held-out log loss with the map in use now (the
raw stated probability when the critic has no applied recalibration). The best method is applied
only when it predicts the held-out labels better: its held-out log loss is lower and the upper
end of the paired bootstrap interval of the difference is below zero. Every decision, applied or
rejected, is a new critic version (`Store.add_critic_version`) carrying the fitted params and the
evidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..calibration import (
    METHODS,
    Method,
    apply_map_many,
    brier_score,
    expected_calibration_error,
    fit_map,
    log_loss,
    paired_log_loss_difference,
)
from ..critics import get_critic
from ..errors import ConfigError
from ..store import CriticVersionRecord, LabelRecord, Store
from ..vocabulary import UpdateKind

MIN_LABELS = 40
"""Labels with a stated probability a critic needs before a recalibration is tried."""
MIN_HELD_OUT = 10
"""Held-out labels a comparison needs (fewer: the decision is a rejection)."""
ECE_BINS = 10
"""Equal-mass bins of the ECE reported before and after."""


@dataclass(frozen=True, kw_only=True)
class HeldOut:
    """How one map (or the raw stated probability) predicts the held-out labels."""

    map: str
    """`raw`, `current` (the applied recalibration in use), `platt` or `isotonic`."""
    n: int
    log_loss: float
    brier: float
    ece: float
    difference: float | None = None
    """Its log loss minus the log loss of the map in use (negative: better); None for the map in
    use itself."""
    interval: tuple[float, float] | None = None
    """95% paired percentile bootstrap interval of `difference`."""
    params: dict[str, Any] = field(default_factory=dict)
    """The fitted params (empty for the raw probability)."""

    def as_json(self) -> dict[str, Any]:
        """Plain JSON, as the critic version's evidence stores it."""
        return {"map": self.map, "n": self.n, "log_loss": self.log_loss, "brier": self.brier,
                "ece": self.ece, "difference": self.difference,
                "interval": list(self.interval) if self.interval is not None else None}


@dataclass(frozen=True, kw_only=True)
class RecalibrationDecision:
    """What `recalibrate` decided for one critic, and the critic version that records it."""

    critic: str
    """The critic id (`c2.investigate`)."""
    applied: bool
    reason: str
    method: Method | None
    """The best method on the held-out labels (None: nothing was fitted)."""
    version: CriticVersionRecord
    """The new version: the update if applied, a rejected row with the reason if not."""
    n_train: int
    n_held_out: int
    before: HeldOut | None
    """The map in use on the held-out labels (None: too few labels to compare)."""
    candidates: list[HeldOut]
    """Each fitted method on the held-out labels, in `methods` order."""

    @property
    def best(self) -> HeldOut | None:
        """The candidate of `method`, if any."""
        return next((c for c in self.candidates if c.map == self.method), None)


def base_version(store: Store, critic_id: str) -> str:
    """The version a recalibration of `critic_id` builds on: the registered critic's version
    (`get_critic(id).version`); for an id the registry does not know (a red-team pseudo-critic
    such as `c2.pipeline`), the version named by its newest label.

    Raises:
        ConfigError: the registry does not know the id and no label names it.
    """
    try:
        return get_critic(critic_id).version
    except ConfigError:
        labelled = store.labels(critic_id=critic_id)
        if not labelled:
            raise ConfigError(f"critic {critic_id!r} is neither registered nor named by any "
                              "label; run `autoalign learn labels` first or check the id") from None
        return labelled[-1].critic.split("@", 1)[1]


def recalibration_critics(store: Store, *, min_labels: int = MIN_LABELS) -> list[str]:
    """Critic ids with at least `min_labels` labels that carry a stated probability."""
    counts: dict[str, int] = {}
    for label in store.labels(with_probability=True):
        if label.critic:
            cid = label.critic.split("@", 1)[0]
            counts[cid] = counts.get(cid, 0) + 1
    return sorted(c for c, n in counts.items() if n >= min_labels)


def split_by_time(
    labels: Sequence[LabelRecord], holdout: float
) -> tuple[list[LabelRecord], list[LabelRecord]]:
    """(earlier, held out): the most recent `holdout` share of `labels` by `known_at` is held
    out. Labels known at the same moment are never split: the held-out part is every label
    known at or after the first held-out label's time, so the earlier part holds only labels
    known strictly before every held-out one.

    Raises:
        ValueError: `holdout` is not in (0, 1).
    """
    if not 0.0 < holdout < 1.0:
        raise ValueError(f"holdout must be in (0, 1); got {holdout!r}")
    ordered = sorted(labels, key=lambda r: (r.known_at, r.id))
    if not ordered:
        return [], []
    k = max(1, math.ceil(holdout * len(ordered)))
    cutoff = ordered[len(ordered) - k].known_at
    return ([r for r in ordered if r.known_at < cutoff],
            [r for r in ordered if r.known_at >= cutoff])


def _arrays(labels: Sequence[LabelRecord]) -> tuple[np.ndarray, np.ndarray]:
    p = np.array([float(r.probability) for r in labels if r.probability is not None])
    y = np.array([1.0 if r.severe else 0.0 for r in labels if r.probability is not None])
    return p, y


def _score(name: str, q: np.ndarray, y: np.ndarray, params: Mapping[str, Any]) -> HeldOut:
    return HeldOut(map=name, n=int(y.size), log_loss=log_loss(q, y), brier=brier_score(q, y),
                   ece=expected_calibration_error(q, y, n_bins=ECE_BINS), params=dict(params))


def recalibrate(
    store: Store,
    critic_id: str,
    *,
    methods: Sequence[Method] = METHODS,
    holdout: float = 0.3,
    min_labels: int = MIN_LABELS,
    seed: int = 0,
    n_boot: int = 2000,
) -> RecalibrationDecision:
    """Fit, compare and decide one recalibration of `critic_id`'s stated probabilities, and
    record the decision as a new critic version (applied or rejected; never an exception for
    too few labels).

    Args:
        store: the research database (its `labels`; `autoalign learn labels` collects them).
        critic_id: the critic whose stated probabilities are recalibrated (`c2.investigate`
            for critic #2's severe-flaw probability).
        methods: the methods fitted (`platt`, `isotonic`).
        holdout: the most recent share of the labels, by `known_at`, held out to compare on.
        min_labels: labels with a stated probability needed before anything is fitted.
        seed: seed of the paired bootstrap.
        n_boot: bootstrap replicates of the paired interval.

    Raises:
        ConfigError: an unknown method or critic, or `holdout` outside (0, 1).
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ConfigError(f"recalibration methods {list(methods)!r}: choose from "
                          f"{', '.join(METHODS)}")
    if not 0.0 < holdout < 1.0:
        raise ConfigError(f"holdout {holdout!r} must be a share in (0, 1), e.g. 0.3")
    base = base_version(store, critic_id)
    # Labels are of the raw critic at its registered version: a map is fitted on raw
    # probabilities, and labels of an earlier base version judged a different critic.
    labels = store.labels(critic=f"{critic_id}@{base}", with_probability=True)
    current = store.active_update(critic_id, UpdateKind.RECALIBRATION)
    train, held = split_by_time(labels, holdout)
    evidence: dict[str, Any] = {
        "labels": len(labels), "n_train": len(train), "n_held_out": len(held),
        "holdout": holdout, "methods": list(methods), "seed": seed, "n_boot": n_boot,
        "last_label_id": max((r.id for r in labels), default=None),
        "cutoff": held[0].known_at.isoformat() if held else None,
        "current_version": current.label if current is not None else f"{critic_id}@{base}",
    }

    def reject(reason: str, **extra: Any) -> RecalibrationDecision:
        version = store.add_critic_version(
            critic=critic_id, base_version=base, update=UpdateKind.RECALIBRATION,
            params={}, evidence={**evidence, **extra}, applied=False, reason=reason)
        return RecalibrationDecision(
            critic=critic_id, applied=False, reason=reason, method=None, version=version,
            n_train=len(train), n_held_out=len(held), before=None, candidates=[])

    _, y_train = _arrays(train)
    _, y_held = _arrays(held)
    if len(labels) < min_labels:
        return reject(f"too few labels: {len(labels)} with a stated probability, "
                      f"{min_labels} needed")
    if len(held) < MIN_HELD_OUT:
        return reject(f"too few held-out labels: {len(held)}, {MIN_HELD_OUT} needed")
    if y_train.size == 0 or np.all(y_train == y_train[0]):
        outcome = "none" if y_train.size == 0 else (
            "severe" if y_train[0] == 1.0 else "not severe")
        return reject(f"the {len(train)} earlier labels hold one outcome only ({outcome}); a "
                      "map needs both")

    p_train, _ = _arrays(train)
    p_held, _ = _arrays(held)
    if current is not None:
        q_before = apply_map_many(current.params, p_held)
        before = _score("current", q_before, y_held, current.params)
    else:
        q_before = p_held
        before = _score("raw", q_before, y_held, {})
    candidates: list[HeldOut] = []
    for method in methods:
        params = fit_map(method, p_train, y_train)
        q = apply_map_many(params, p_held)
        scored = _score(method, q, y_held, params)
        diff, interval = paired_log_loss_difference(q_before, q, y_held, n_boot=n_boot,
                                                     seed=seed)
        candidates.append(HeldOut(
            map=scored.map, n=scored.n, log_loss=scored.log_loss, brier=scored.brier,
            ece=scored.ece, difference=diff, interval=(interval.low, interval.high),
            params=params))
    best = min(candidates, key=lambda c: c.log_loss)
    evidence["before"] = before.as_json()
    evidence["candidates"] = [c.as_json() for c in candidates]
    evidence["best"] = best.map
    assert best.interval is not None and best.difference is not None
    figures = (f"held-out log loss {before.log_loss:.4f} -> {best.log_loss:.4f} "
               f"(difference {best.difference:+.4f}, 95% CI {best.interval[0]:+.4f} to "
               f"{best.interval[1]:+.4f}, n={best.n})")
    in_use = ("the raw stated probability" if current is None
              else f"the map in use ({current.label})")
    if best.difference < 0 and best.interval[1] < 0:
        reason = f"{best.map} improves on {in_use}: {figures}"
        version = store.add_critic_version(
            critic=critic_id, base_version=base, update=UpdateKind.RECALIBRATION,
            params=best.params, evidence=evidence, applied=True, reason=reason)
        applied = True
    else:
        why = ("does not lower" if best.difference >= 0
               else "lowers, within the bootstrap noise,")
        reason = f"the best map, {best.map}, {why} the held-out log loss of {in_use}: {figures}"
        version = store.add_critic_version(
            critic=critic_id, base_version=base, update=UpdateKind.RECALIBRATION,
            params=best.params, evidence=evidence, applied=False, reason=reason)
        applied = False
    return RecalibrationDecision(
        critic=critic_id, applied=applied, reason=reason,
        method=next(m for m in methods if m == best.map),
        version=version, n_train=len(train), n_held_out=len(held), before=before,
        candidates=candidates)


__all__ = [
    "ECE_BINS",
    "MIN_HELD_OUT",
    "MIN_LABELS",
    "HeldOut",
    "RecalibrationDecision",
    "base_version",
    "recalibrate",
    "recalibration_critics",
    "split_by_time",
]
